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
# Every layer's objects go in whole (not only the archive members something needs), so every
# CAMURE_API symbol is in the library. The layers are linked as plain archives as well, only to
# bring in their own dependencies (threads, hwloc, sodium, rt): their members are never pulled
# twice, since the objects already define every symbol. (A WHOLE_ARCHIVE link clashed with
# layers that link other layers: duplicate or conflicting link items.)
foreach(_camure_layer IN LISTS _camure_layers)
  target_sources(camure PRIVATE $<TARGET_OBJECTS:${_camure_layer}>)
endforeach()
target_link_libraries(camure PRIVATE camure_build_options ${_camure_layers})
target_link_options(camure PRIVATE -Wl,--no-undefined)
