# find_package(syslet CONFIG): the header-only C++20 library as the
# INTERFACE target syslet::syslet. Found relative to this file, so a
# staged (DESTDIR) or moved install works as well as the one in PREFIX.
include(CMakeFindDependencyMacro)
# -pthread rather than -lpthread: it also sets the compiler's macros.
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_dependency(Threads)

if(NOT TARGET syslet::syslet)
	# PREFIX/share/cmake/syslet -> PREFIX
	get_filename_component(_syslet_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
	add_library(syslet::syslet INTERFACE IMPORTED)
	set_target_properties(syslet::syslet PROPERTIES
		INTERFACE_INCLUDE_DIRECTORIES "${_syslet_prefix}/include"
		INTERFACE_COMPILE_FEATURES cxx_std_20
		INTERFACE_LINK_LIBRARIES Threads::Threads)
	unset(_syslet_prefix)
endif()
