// missing_dep.c — stands in for tests that CMake could not register because a dependency is absent
// (Oclgrind): `missing_dep DEP MESSAGE` exits 77 (skipped), or 1 when $CLGAN_REQUIRE names DEP.
#include "test_util.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: missing_dep DEP MESSAGE\n");
        return 2;
    }
    test_skip(argv[1], "%s", argv[2]);
}
