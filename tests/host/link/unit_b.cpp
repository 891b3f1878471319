// The second translation unit of the -flto and shared-object link tests.
#include "syslet.hpp"

long unit_b_probe()
{
	return reinterpret_cast<long>(&syslet::syslet_threadlet_enter) != 0;
}
