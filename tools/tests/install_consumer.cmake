# Installs the build into a staging prefix, then configures and builds a
# consumer project against it, and checks the pkg-config files.
set(prefix ${BIN}/prefix)
file(REMOVE_RECURSE ${BIN})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BIN}/../.. --prefix ${prefix}
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "install failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SRC}/tools/tests/consumer
                -B ${BIN}/consumer -G ${GEN} -DCMAKE_PREFIX_PATH=${prefix}
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "consumer configure failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BIN}/consumer RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "consumer build failed: ${rc}")
endif()
foreach(pc vmi-abi vmi-guest vmi-host)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env
                  PKG_CONFIG_PATH=${prefix}/lib/pkgconfig
                  pkg-config --define-prefix --cflags --libs ${pc}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc)
    message(FATAL_ERROR "pkg-config ${pc} failed: ${err}")
  endif()
  if(NOT out MATCHES "-I${prefix}/include")
    message(FATAL_ERROR "pkg-config ${pc}: no include path into the prefix: ${out}")
  endif()
  if(pc STREQUAL "vmi-host" AND NOT out MATCHES "-lvmi-host")
    message(FATAL_ERROR "pkg-config vmi-host does not link -lvmi-host: ${out}")
  endif()
  message(STATUS "pkg-config ${pc}: ${out}")
endforeach()
