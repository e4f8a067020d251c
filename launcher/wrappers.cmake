# camurecc / camurecxx: one template, two flavours — the build tree (absolute paths into this
# build) and the install tree (paths found relative to the installed script: relocatable).
set(_camure_wrapper_extra "")
if(CAMURE_SANITIZER STREQUAL "address")
  set(_camure_wrapper_extra "-fsanitize=address,undefined")
elseif(CAMURE_SANITIZER STREQUAL "thread")
  set(_camure_wrapper_extra "-fsanitize=thread")
elseif(CAMURE_SANITIZER STREQUAL "undefined")
  set(_camure_wrapper_extra "-fsanitize=undefined")
endif()

foreach(_kind cc cxx)
  if(_kind STREQUAL "cc")
    set(WRAPPER_NAME camurecc)
    set(WRAPPER_COMPILER "${CMAKE_C_COMPILER}")
    set(WRAPPER_ENV CAMURE_CC)
    set(WRAPPER_IS_CXX 0)
  else()
    set(WRAPPER_NAME camurecxx)
    set(WRAPPER_COMPILER "${CMAKE_CXX_COMPILER}")
    set(WRAPPER_ENV CAMURE_CXX)
    set(WRAPPER_IS_CXX 1)
  endif()

  # Build tree: the source headers and the freshly built libcamure.
  set(WRAPPER_EXTRA "${_camure_wrapper_extra}")
  set(WRAPPER_LOCATE "incdir='${PROJECT_SOURCE_DIR}/include'\nlibdir='@CAMURE_LIBDIR@'")
  string(REPLACE "\\n" "\n" WRAPPER_LOCATE "${WRAPPER_LOCATE}")
  configure_file(${CMAKE_CURRENT_SOURCE_DIR}/camure-wrapper.sh.in
                 ${CMAKE_CURRENT_BINARY_DIR}/${WRAPPER_NAME}.build.in @ONLY)
  file(READ ${CMAKE_CURRENT_BINARY_DIR}/${WRAPPER_NAME}.build.in _content)
  string(REPLACE "@CAMURE_LIBDIR@" "$<TARGET_FILE_DIR:camure>" _content "${_content}")
  file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/bin/${WRAPPER_NAME} CONTENT "${_content}"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

  # Install tree: relative to the script's own location.
  set(WRAPPER_EXTRA "")
  set(WRAPPER_LOCATE "prefix=$(cd \"$(dirname \"$0\")/..\" && pwd)\nincdir=\"$prefix/${CMAKE_INSTALL_INCLUDEDIR}\"\nlibdir=\"$prefix/${CMAKE_INSTALL_LIBDIR}\"")
  string(REPLACE "\\n" "\n" WRAPPER_LOCATE "${WRAPPER_LOCATE}")
  configure_file(${CMAKE_CURRENT_SOURCE_DIR}/camure-wrapper.sh.in
                 ${CMAKE_CURRENT_BINARY_DIR}/install/${WRAPPER_NAME} @ONLY)
  install(PROGRAMS ${CMAKE_CURRENT_BINARY_DIR}/install/${WRAPPER_NAME} DESTINATION ${CMAKE_INSTALL_BINDIR})
endforeach()
