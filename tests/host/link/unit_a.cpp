// One of two translation units that include the header: with -flto their
// top-level asm is assembled together, and each must link exactly once.
#include "syslet.hpp"

long unit_b_probe();

long unit_a_probe()
{
	return reinterpret_cast<long>(&syslet::syslet_threadlet_enter) != 0;
}

int main()
{
	return unit_a_probe() + unit_b_probe() == 2 ? 0 : 1;
}
