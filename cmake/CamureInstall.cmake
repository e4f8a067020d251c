# Install: headers, libcamure, CMake package (with version file) and camure.pc.
include(CMakePackageConfigHelpers)
install(DIRECTORY include/camure DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS camure EXPORT camureTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT camureTargets NAMESPACE camure:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/camure)
configure_package_config_file(cmake/camureConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/camureConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/camure)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/camureConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/camureConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/camureConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/camure)
# camure.pc finds its prefix from where it lies (${pcfiledir}), so `cmake --install --prefix DIR`
# and a moved tree work; an absolute CMAKE_INSTALL_LIBDIR keeps the configured prefix.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(CAMURE_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _camure_pc_up "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
  string(REGEX REPLACE "/$" "" _camure_pc_up "${_camure_pc_up}")
  set(CAMURE_PC_PREFIX "\${pcfiledir}/${_camure_pc_up}")
endif()
configure_file(cmake/camure.pc.in ${CMAKE_CURRENT_BINARY_DIR}/camure.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/camure.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
