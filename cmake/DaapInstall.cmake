# Install layout beyond the library itself. libdaap/CMakeLists.txt installs
# the headers, libdaap.so (+ SONAME link), libdaap.a, libdaap.pc and the CMake
# package; server/ and cli/ install their binaries. This file adds:
#   - an $ORIGIN-relative RUNPATH for installed programs, so a prefix works
#     wherever it is unpacked (set CMAKE_INSTALL_RPATH to override, e.g. empty
#     for distribution packages that install into /usr);
#   - the Python package (bindings/python/daap) and a note telling it where
#     libdaap was installed relative to itself;
#   - the man pages in docs/man/ (daapctl.1 comes from cli/).
# Included from the top-level CMakeLists.txt before any target is defined.

if(NOT DEFINED CMAKE_INSTALL_RPATH)
  set(CMAKE_INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
endif()

# Debian's layout for pure-Python packages, on sys.path when the prefix is /usr.
set(DAAP_PYTHON_INSTALL_DIR "lib/python3/dist-packages" CACHE STRING
    "Where the Python package daap is installed, relative to the prefix")

set(_daap_py_src ${PROJECT_SOURCE_DIR}/bindings/python/daap)
if(EXISTS ${_daap_py_src}/__init__.py)
  install(DIRECTORY ${_daap_py_src} DESTINATION ${DAAP_PYTHON_INSTALL_DIR}
          PATTERN "__pycache__" EXCLUDE PATTERN "*.pyc" EXCLUDE PATTERN "_install_paths.py" EXCLUDE)
  # The library's directory as seen from the installed package. Both are
  # relative to the prefix, so the note stays right under any --prefix.
  if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    set(_daap_py_libdir "${CMAKE_INSTALL_LIBDIR}")
  else()
    file(RELATIVE_PATH _daap_py_libdir "/prefix/${DAAP_PYTHON_INSTALL_DIR}/daap" "/prefix/${CMAKE_INSTALL_LIBDIR}")
  endif()
  file(WRITE ${PROJECT_BINARY_DIR}/python/_install_paths.py
       "# Written by CMake at build time: where libdaap is, relative to this package.\n"
       "LIBDIR_FROM_PACKAGE = \"${_daap_py_libdir}\"\n")
  install(FILES ${PROJECT_BINARY_DIR}/python/_install_paths.py DESTINATION ${DAAP_PYTHON_INSTALL_DIR}/daap)
endif()

# cli/CMakeLists.txt installs daapctl.1 itself; any other page is installed here.
file(GLOB _daap_man1 ${PROJECT_SOURCE_DIR}/docs/man/*.1)
list(FILTER _daap_man1 EXCLUDE REGEX "/daapctl\\.1$")
if(_daap_man1)
  install(FILES ${_daap_man1} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()
