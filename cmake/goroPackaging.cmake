# goroPackaging.cmake — install rules, the exported goro::goro target
# (goroConfig.cmake + goroConfigVersion.cmake), goro.pc, the Debian package
# (cpack -G DEB -> libgoro-dev) and the install/consumer test.
#
# Included once from the top-level CMakeLists.txt after the goro target
# exists. Contract: everything installed is relocatable (the CMake package
# computes its prefix from its own location, goro.pc from ${pcfiledir}), so
# `cmake --install <build> --prefix <anywhere>` and the .deb install the same
# files and both work where they land. Nothing here builds code.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(GORO_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/goro" CACHE STRING
    "Where goroConfig.cmake is installed (relative to the prefix)")
mark_as_advanced(GORO_CMAKE_DIR)

install(DIRECTORY include/goro
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        FILES_MATCHING PATTERN "*.hpp")

install(TARGETS goro EXPORT goroTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")

install(EXPORT goroTargets
        NAMESPACE goro::
        FILE goroTargets.cmake
        DESTINATION "${GORO_CMAKE_DIR}")

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/goroConfig.cmake.in"
  "${CMAKE_CURRENT_BINARY_DIR}/goroConfig.cmake"
  INSTALL_DESTINATION "${GORO_CMAKE_DIR}")
# 0.x releases: SameMajorVersion treats every 0.y as compatible with 0.1;
# the API is young, pin an exact version if that matters to you.
write_basic_package_version_file(
  "${CMAKE_CURRENT_BINARY_DIR}/goroConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/goroConfig.cmake"
              "${CMAKE_CURRENT_BINARY_DIR}/goroConfigVersion.cmake"
        DESTINATION "${GORO_CMAKE_DIR}")

# goro.pc: prefix relative to ${pcfiledir} (<libdir>/pkgconfig) so the file
# stays right wherever the tree is installed. An absolute libdir or includedir
# (e.g. -DCMAKE_INSTALL_LIBDIR=/opt/lib) is written as is.
set(_goro_pcdir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(GORO_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(GORO_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  file(RELATIVE_PATH _goro_up "/p/${_goro_pcdir}" "/p")   # "../.." for lib/pkgconfig
  string(REGEX REPLACE "/$" "" _goro_up "${_goro_up}")
  set(GORO_PC_PREFIX "\${pcfiledir}/${_goro_up}")
  set(GORO_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(GORO_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(GORO_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file("${CMAKE_CURRENT_LIST_DIR}/goro.pc.in"
               "${CMAKE_CURRENT_BINARY_DIR}/goro.pc" @ONLY)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/goro.pc" DESTINATION "${_goro_pcdir}")

# --- Debian package: cd <build> && cpack -G DEB  (or `make deb`) -----------
# libgoro-dev: headers, libgoro.a (or the .so with BUILD_SHARED_LIBS), the
# CMake package and goro.pc under /usr — the files `cmake --install` installs.
# Only when goro is the top-level project: a parent's cpack is its own.
if(PROJECT_IS_TOP_LEVEL)
  set(GORO_DEB_MAINTAINER "goro maintainers <maintainers@goro.invalid>" CACHE STRING
      "Maintainer field of the Debian package")
  set(CPACK_PACKAGE_NAME "libgoro-dev")
  set(CPACK_PACKAGE_VENDOR "goro")
  set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
  set(CPACK_PACKAGE_CONTACT "${GORO_DEB_MAINTAINER}")
  set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
      "Go's concurrency in C++20: goroutines, channels, select, context, sync")
  set(CPACK_GENERATOR "DEB")
  set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
  set(CPACK_DEBIAN_PACKAGE_NAME "libgoro-dev")
  set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
  set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${GORO_DEB_MAINTAINER}")
  set(CPACK_DEBIAN_PACKAGE_SECTION "libdevel")
  set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
  # The extended description; CPack puts the summary line first and indents.
  set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"goro gives C++20 programs goroutines (stackless coroutines on an M:N
work-stealing scheduler), channels, select, timers, context, the sync
package and the patterns built on them, with Go's semantics.

This package holds the headers, the library, a CMake package
(find_package(goro), target goro::goro) and goro.pc for pkg-config.")
  # The headers need a C++20 standard library with coroutines (GCC 12's
  # libstdc++ or newer); a static library carries no shared-library deps.
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6-dev | libc-dev, libstdc++-12-dev | libstdc++-dev")
  set(CPACK_DEBIAN_PACKAGE_SUGGESTS "cmake, pkg-config")
  if(BUILD_SHARED_LIBS)
    # libgoro.so's own libc6/libstdc++6 dependencies, from dpkg-shlibdeps.
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  endif()
  set(CPACK_SOURCE_GENERATOR "TGZ")
  set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build/" "/\\\\.cache/")
  include(CPack)
endif()

# --- Install/consumer test -------------------------------------------------
# Installs this build tree into a scratch prefix and builds a tiny consumer
# with find_package, pkg-config and FetchContent (tests/install/run.sh).
# Not under the sanitizer presets: the consumer would have to be built with
# the same -fsanitize flags and GORO_ASAN definition as the library, which
# the installed package (rightly) does not carry; the release and clang
# presets cover packaging.
if(GORO_BUILD_TESTS AND GORO_SANITIZE STREQUAL "")
  add_test(NAME goro_install_consumer
           COMMAND "${CMAKE_CURRENT_SOURCE_DIR}/tests/install/run.sh"
                   --build "${CMAKE_BINARY_DIR}"
                   --src "${CMAKE_CURRENT_SOURCE_DIR}"
                   --cxx "${CMAKE_CXX_COMPILER}"
                   --work "${CMAKE_BINARY_DIR}/install-test")
  # Builds the consumer three times (and goro itself once, for FetchContent).
  set_tests_properties(goro_install_consumer PROPERTIES TIMEOUT 900 PROCESSORS 2)
endif()
