# Every third-party dependency, found through pkg-config (Debian 12 -dev packages).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

pkg_check_modules(JSONC    REQUIRED IMPORTED_TARGET json-c)
pkg_check_modules(CURL     REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(YAML     REQUIRED IMPORTED_TARGET yaml-0.1)
pkg_check_modules(SQLITE3  REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(LIBPQ    REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(LIBCRYPTO REQUIRED IMPORTED_TARGET libcrypto)
if(DAAP_BUILD_SERVER OR DAAP_BUILD_TESTS)
  pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
endif()
if(DAAP_BUILD_TESTS)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()

# What libdaap.pc lists as Requires.private (static linking needs them).
set(DAAP_PC_REQUIRES_PRIVATE "json-c libcurl yaml-0.1 sqlite3 libpq libcrypto")
