# The aarch64 example guests (hello.elf, smp.elf) and conformance image
# (conformance/vmi-conformance.elf) for QEMU's virt machine,
# built by a second CMake build of this source tree with Debian's cross
# compiler (cmake/toolchain-aarch64-linux-gnu.cmake) into
# ${CMAKE_BINARY_DIR}/aarch64; the qemu tests boot them on the patched
# qemu-system-aarch64.  Without aarch64-linux-gnu-gcc (./vmi.sh deps
# installs gcc-aarch64-linux-gnu) there is nothing to build and those tests
# fail with the reason.
include(ExternalProject)
find_program(VMI_AARCH64_GCC aarch64-linux-gnu-gcc)
set(VMI_AARCH64_DIR ${CMAKE_BINARY_DIR}/aarch64)
if(NOT VMI_AARCH64_GCC)
  message(STATUS "examples: no aarch64-linux-gnu-gcc, no aarch64 guests")
  return()
endif()
ExternalProject_Add(aarch64_guests
  SOURCE_DIR ${CMAKE_SOURCE_DIR}
  BINARY_DIR ${VMI_AARCH64_DIR}
  CMAKE_ARGS
    -DCMAKE_TOOLCHAIN_FILE=${CMAKE_SOURCE_DIR}/cmake/toolchain-aarch64-linux-gnu.cmake
    -DCMAKE_BUILD_TYPE=Release
    -DVMI_BUILD_TESTS=OFF -DVMI_BUILD_SPEC=OFF -DVMI_BUILD_CONFORMANCE=ON
    -DVMI_BUILD_BENCH=OFF
  BUILD_COMMAND ${CMAKE_COMMAND} --build ${VMI_AARCH64_DIR} --target guest_hello guest_smp
                  conformance_image
  INSTALL_COMMAND ""
  BUILD_ALWAYS ON
  USES_TERMINAL_BUILD ON)
