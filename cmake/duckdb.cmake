# DuckDB, the offline store's engine, as the imported target duckdb_c.
#
# Looked for, in this order: DUCKDB_ROOT (a prefix with include/duckdb.h and
# lib/libduckdb.so), third_party/duckdb (scripts/bootstrap.sh), the system's
# default paths. When none has it and LARDER_FETCH_DUCKDB is ON (the
# default), the configure step downloads the same npm tarballs that
# scripts/bootstrap.sh uses into <build>/_deps/duckdb (cmake/duckdb_fetch.cmake),
# so that `pip install` of a source tree or an sdist needs no bootstrap.
include(${CMAKE_CURRENT_LIST_DIR}/duckdb_fetch.cmake)
set(DUCKDB_ROOT "" CACHE PATH "Prefix of a DuckDB install (include/, lib/)")
option(LARDER_FETCH_DUCKDB "Download DuckDB from the npm registry when it is not found" ON)
set(larder_duckdb_fetched ${CMAKE_BINARY_DIR}/_deps/duckdb)
find_path(DUCKDB_INCLUDE_DIR duckdb.h
  HINTS ${DUCKDB_ROOT}/include ${CMAKE_SOURCE_DIR}/third_party/duckdb/include
    ${larder_duckdb_fetched}/include)
find_library(DUCKDB_LIBRARY duckdb
  HINTS ${DUCKDB_ROOT}/lib ${CMAKE_SOURCE_DIR}/third_party/duckdb/lib ${larder_duckdb_fetched}/lib)
if((NOT DUCKDB_INCLUDE_DIR OR NOT DUCKDB_LIBRARY) AND LARDER_FETCH_DUCKDB)
  larder_fetch_duckdb(${larder_duckdb_fetched})
  unset(DUCKDB_INCLUDE_DIR CACHE)
  unset(DUCKDB_LIBRARY CACHE)
  find_path(DUCKDB_INCLUDE_DIR duckdb.h HINTS ${larder_duckdb_fetched}/include NO_DEFAULT_PATH)
  find_library(DUCKDB_LIBRARY duckdb HINTS ${larder_duckdb_fetched}/lib NO_DEFAULT_PATH)
endif()
if(NOT DUCKDB_INCLUDE_DIR OR NOT DUCKDB_LIBRARY)
  message(FATAL_ERROR "DuckDB not found: run scripts/bootstrap.sh, set DUCKDB_ROOT, "
    "or configure with -DLARDER_FETCH_DUCKDB=ON to download it")
endif()
message(STATUS "DuckDB: ${DUCKDB_LIBRARY}")
add_library(duckdb_c SHARED IMPORTED)
set_target_properties(duckdb_c PROPERTIES
  IMPORTED_LOCATION ${DUCKDB_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${DUCKDB_INCLUDE_DIR})
get_filename_component(DUCKDB_LIBRARY_DIR ${DUCKDB_LIBRARY} DIRECTORY)
set(CMAKE_BUILD_RPATH ${DUCKDB_LIBRARY_DIR})
set(CMAKE_INSTALL_RPATH ${DUCKDB_LIBRARY_DIR})
