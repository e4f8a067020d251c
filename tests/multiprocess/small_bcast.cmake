# Multiprocess tests of the small-bcast path (collectives/small_bcast.*) through camurerun.
if(TARGET camurerun)
  add_executable(test_small_bcast_prog test_small_bcast_prog.cpp)
  target_link_libraries(test_small_bcast_prog PRIVATE camure_build_options camure::collectives)

  camure_add_gtest(test_small_bcast_mp SOURCES test_small_bcast_mp.cpp LABEL multiprocess TIMEOUT 300)
  target_compile_definitions(test_small_bcast_mp PRIVATE
    CAMURERUN="$<TARGET_FILE:camurerun>"
    PROG_SMALL="$<TARGET_FILE:test_small_bcast_prog>")
  add_dependencies(test_small_bcast_mp camurerun test_small_bcast_prog)
endif()
