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
configure_file(cmake/camure.pc.in ${CMAKE_CURRENT_BINARY_DIR}/camure.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/camure.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
