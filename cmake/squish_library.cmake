# squish_library(NAME DEPS...): a static library from every .cpp under the calling folder, so a new
# file joins the build without touching CMake and one folder = one library (a wrong dependency
# direction is a link error). A folder with headers only becomes an INTERFACE library.
function(squish_library name)
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  list(FILTER srcs EXCLUDE REGEX "/isa_[a-z0-9]+/")
  if(srcs)
    add_library(${name} STATIC ${srcs})
    target_link_libraries(${name} ${ARGN})
  else()
    add_library(${name} INTERFACE)
    set(deps ${ARGN})
    list(TRANSFORM deps REPLACE "^(PUBLIC|PRIVATE)$" INTERFACE)
    target_link_libraries(${name} ${deps})
  endif()
endfunction()
