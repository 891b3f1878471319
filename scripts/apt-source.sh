# Sourced: apt-get source needs deb-src lines, which a fresh Debian 12
# machine may not have; ensure_deb_src PACKAGE adds them for the system's
# own mirrors when PACKAGE's source cannot be found.

if [ "$(id -u)" -eq 0 ]; then
	sudo=""
else
	sudo=sudo
fi

ensure_deb_src()
{
	if apt-get source --print-uris "$1" >/dev/null 2>&1; then
		return
	fi
	echo "    adding deb-src entries for apt-get source"
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		sed 's/^Types: deb$/Types: deb-src/' \
			/etc/apt/sources.list.d/debian.sources |
			$sudo tee /etc/apt/sources.list.d/syslet-deb-src.sources \
			>/dev/null
	else
		grep -h '^deb ' /etc/apt/sources.list |
			sed 's/^deb /deb-src /' |
			$sudo tee /etc/apt/sources.list.d/syslet-deb-src.list \
			>/dev/null
	fi
	$sudo apt-get update -qq
}
