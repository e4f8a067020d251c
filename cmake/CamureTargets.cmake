# Helpers every layer uses: warnings/sanitizers through an interface target, one call per library/test.

add_library(camure_build_options INTERFACE)
target_compile_options(camure_build_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Werror>
  $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wpedantic -Werror>)

if(CAMURE_SANITIZER STREQUAL "address")
  set(_camure_san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
elseif(CAMURE_SANITIZER STREQUAL "thread")
  set(_camure_san -fsanitize=thread -fno-omit-frame-pointer)
elseif(CAMURE_SANITIZER STREQUAL "undefined")
  set(_camure_san -fsanitize=undefined -fno-sanitize-recover=undefined)
elseif(NOT CAMURE_SANITIZER STREQUAL "")
  message(FATAL_ERROR "CAMURE_SANITIZER must be address, thread, undefined or empty, not '${CAMURE_SANITIZER}'")
endif()
if(_camure_san)
  target_compile_options(camure_build_options INTERFACE ${_camure_san})
  target_link_options(camure_build_options INTERFACE ${_camure_san})
  target_compile_definitions(camure_build_options INTERFACE CAMURE_SANITIZER_$<UPPER_CASE:${CAMURE_SANITIZER}>=1)
endif()

# Layer libraries go into libcamure; they register themselves here.
set_property(GLOBAL PROPERTY CAMURE_LAYER_LIBRARIES "")

# camure_add_library(<name> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Builds static, position-independent library camure_<name> with alias camure::<name>.
# It is folded whole into the shared libcamure.
function(camure_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  set(target camure_${name})
  add_library(${target} STATIC ${ARG_SOURCES})
  add_library(camure::${name} ALIAS ${target})
  target_include_directories(${target}
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_definitions(${target} PRIVATE CAMURE_BUILDING_LIBRARY=1)
  target_link_libraries(${target} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE camure_build_options ${ARG_PRIVATE_DEPS})
  set_property(GLOBAL APPEND PROPERTY CAMURE_LAYER_LIBRARIES ${target})
endfunction()

# camure_add_executable(<name> SOURCES ... [DEPS ...])
function(camure_add_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE camure_build_options ${ARG_DEPS})
endfunction()

# camure_add_gtest(<name> SOURCES ... LABEL unit|multiprocess|cluster|fuzz [TIMEOUT s] [DEPS ...])
# One gtest executable; every TEST in it becomes a CTest test with the label and timeout.
function(camure_add_gtest name)
  cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_LABEL)
    message(FATAL_ERROR "camure_add_gtest(${name}): LABEL is required")
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 60)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE camure_build_options ${ARG_DEPS} GTest::gtest GTest::gtest_main Threads::Threads)
  gtest_discover_tests(${name}
    DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT})
endfunction()

function(camure_add_optional_subdirectory dir)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/CMakeLists.txt)
    add_subdirectory(${dir})
  endif()
endfunction()
