# VmiDebian.cmake: the Debian packages QEMU and Linux work is made against,
# fetched with tools/vmi-debian-fetch (verified, cached outside the tree).
#
# The exact versions the project's code and patches were made against.  When
# the archive has moved on, the fetcher uses the newest revision of the same
# upstream version (QEMU) or the newest 6.1.x (Linux) and warns.
set(VMI_DEBIAN_LINUX_VERSION "6.1.192-3" CACHE STRING
    "Debian linux-source-6.1 version (tools/vmi-debian-fetch)")
set(VMI_DEBIAN_QEMU_VERSION "1:7.2+dfsg-7+deb12u18" CACHE STRING
    "Debian qemu source version (tools/vmi-debian-fetch)")
set(VMI_DEBIAN_CLOUD_KERNEL "linux-image-6.1.0-57-cloud-amd64" CACHE STRING
  "Debian's cloud kernel package, at VMI_DEBIAN_LINUX_VERSION, that vmi-bench compares the OpenVMI kernel with")
set(VMI_DEBIAN_BUSYBOX_VERSION "1:1.35.0-4+deb12u1+b1" CACHE STRING
  "Debian busybox-static version whose static busybox the Linux port's initramfs holds")

# vmi_debian_linux_files(<dir-var> <skip-var> PATH...): at configure time,
# extract only PATH... (relative to the kernel tree) of Debian's Linux
# source into the fetcher's cache.  Sets <dir-var> to the directory that
# holds them; or, when the package cannot be had (fetcher exit 3: no
# network, not in the archive), sets <skip-var> to the fetcher's reason so
# that a test can skip with it.  Any other failure (a file that does not
# verify) stops the configuration.
function(vmi_debian_linux_files dir_var skip_var)
  set(${dir_var} "" PARENT_SCOPE)
  set(${skip_var} "" PARENT_SCOPE)
  message(STATUS "Debian linux-source-6.1 ${VMI_DEBIAN_LINUX_VERSION}: ${ARGN}")
  execute_process(
    COMMAND ${PROJECT_SOURCE_DIR}/tools/vmi-debian-fetch linux-files
            ${VMI_DEBIAN_LINUX_VERSION} ${ARGN}
    RESULT_VARIABLE rc OUTPUT_VARIABLE dir ERROR_VARIABLE err
    ECHO_ERROR_VARIABLE OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(rc EQUAL 0)
    set(${dir_var} "${dir}" PARENT_SCOPE)
  elseif(rc EQUAL 3)
    string(REGEX MATCH "unavailable: [^\n]*" why "${err}")
    set(${skip_var} "Debian's linux-source-6.1 cannot be had: ${why}"
        PARENT_SCOPE)
  else()
    message(FATAL_ERROR "tools/vmi-debian-fetch failed (exit ${rc}):\n${err}")
  endif()
  # The version really used (a newer 6.1.x when the archive moved on).
  string(REGEX MATCH "linux-source-6.1=([^:]+): " m "${err}")
  set(${dir_var}_VERSION "${CMAKE_MATCH_1}" PARENT_SCOPE)
endfunction()
