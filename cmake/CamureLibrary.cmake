# libcamure.so: every layer library folded in whole; what users link.
get_property(_camure_layers GLOBAL PROPERTY CAMURE_LAYER_LIBRARIES)
add_library(camure SHARED cmake/empty.cpp)
add_library(camure::camure ALIAS camure)
set_target_properties(camure PROPERTIES
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
  LINK_DEPENDS_NO_SHARED ON)
target_include_directories(camure PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(camure PRIVATE camure_build_options
  "$<LINK_LIBRARY:WHOLE_ARCHIVE,${_camure_layers}>")
target_link_options(camure PRIVATE -Wl,--no-undefined)
# A layer that links another layer (e.g. PUBLIC_DEPS camure::common) must not clash with the
# whole-archive feature used here: every layer is linked whole, wherever it appears.
foreach(_camure_layer IN LISTS _camure_layers)
  set_property(TARGET camure PROPERTY LINK_LIBRARY_OVERRIDE_${_camure_layer} WHOLE_ARCHIVE)
endforeach()
