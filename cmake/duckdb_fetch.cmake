# DuckDB's C library and header from the npm registry: the one place that
# names their version, addresses and hashes.
#
# Debian 12 has no DuckDB package. The npm tarball of
# @duckdb/node-bindings-linux-x64 holds libduckdb.so (needing only libc and
# libstdc++), and the tarball of the `duckdb` package the matching duckdb.h.
# Both are checked against the SHA-512 the registry publishes for them
# (`npm view NAME@VERSION dist.integrity`, here in hex).
#
# In a CMake project (cmake/duckdb.cmake): larder_fetch_duckdb(DEST) installs
# DEST/lib/libduckdb.so and DEST/include/duckdb.h. As a script, which is how
# scripts/bootstrap.sh calls it:
#   cmake -DDEST=third_party/duckdb -P cmake/duckdb_fetch.cmake
# Either way, DEST/.version records the version and a second call returns at
# once. Downloads are kept in LARDER_DOWNLOAD_CACHE (a CMake variable or
# environment variable) when it is set, so that scratch builds (pip's, the
# wheel test's) download once; otherwise they are removed after unpacking.
set(LARDER_DUCKDB_VERSION 1.4.4)
set(LARDER_DUCKDB_LIBRARY_URL
  "https://registry.npmjs.org/@duckdb/node-bindings-linux-x64/-/node-bindings-linux-x64-1.4.4-r.4.tgz")
set(LARDER_DUCKDB_LIBRARY_SHA512
  8c14cbfd6bdfc312d3a056bfa551df4fa7a532d96d2469dcdf04aec590fd39f325b62b7d614755152dfbbc1150cd7313d59f0e5a3b528cc87eccf2b13b01cb1c)
set(LARDER_DUCKDB_HEADER_URL "https://registry.npmjs.org/duckdb/-/duckdb-1.4.4.tgz")
set(LARDER_DUCKDB_HEADER_SHA512
  844249e61c9517454b8f776638ba6c5ab411d1bddde1892ab72826ea25178c72430e74aa83f5122b171be6abcdace84560f824b5ac94e9d5c2b603ea7269a9a2)

# Downloads URL into DIR (once) and checks its SHA-512; sets OUT to the file.
function(larder_download_checked url sha512 dir out)
  get_filename_component(name "${url}" NAME)
  set(file "${dir}/${name}")
  if(EXISTS "${file}")
    file(SHA512 "${file}" have)
    if(NOT have STREQUAL sha512)
      file(REMOVE "${file}")
    endif()
  endif()
  if(NOT EXISTS "${file}")
    message(STATUS "Downloading ${url}")
    file(DOWNLOAD "${url}" "${file}.part" STATUS status TLS_VERIFY ON
      EXPECTED_HASH SHA512=${sha512})
    list(GET status 0 code)
    if(NOT code EQUAL 0)
      file(REMOVE "${file}.part")
      list(GET status 1 reason)
      message(FATAL_ERROR "Could not download ${url}: ${reason}. Install DuckDB ${LARDER_DUCKDB_VERSION} "
        "and pass -DDUCKDB_ROOT=<prefix> (include/duckdb.h, lib/libduckdb.so) instead.")
    endif()
    file(RENAME "${file}.part" "${file}")
  endif()
  set(${out} "${file}" PARENT_SCOPE)
endfunction()

function(larder_fetch_duckdb dest)
  set(stamp "${dest}/.version")
  if(EXISTS "${stamp}" AND EXISTS "${dest}/lib/libduckdb.so" AND EXISTS "${dest}/include/duckdb.h")
    file(READ "${stamp}" have)
    string(STRIP "${have}" have)
    if(have STREQUAL LARDER_DUCKDB_VERSION)
      message(STATUS "DuckDB ${LARDER_DUCKDB_VERSION} present in ${dest}")
      return()
    endif()
  endif()
  if(DEFINED LARDER_DOWNLOAD_CACHE)
    set(cache "${LARDER_DOWNLOAD_CACHE}")
  elseif(DEFINED ENV{LARDER_DOWNLOAD_CACHE})
    set(cache "$ENV{LARDER_DOWNLOAD_CACHE}")
  else()
    set(cache "${dest}.download")
    set(remove_cache TRUE)
  endif()
  file(MAKE_DIRECTORY "${cache}")
  larder_download_checked("${LARDER_DUCKDB_LIBRARY_URL}" ${LARDER_DUCKDB_LIBRARY_SHA512} "${cache}" lib_tgz)
  larder_download_checked("${LARDER_DUCKDB_HEADER_URL}" ${LARDER_DUCKDB_HEADER_SHA512} "${cache}" hdr_tgz)
  set(unpack "${dest}.unpack")
  file(REMOVE_RECURSE "${unpack}")
  file(ARCHIVE_EXTRACT INPUT "${lib_tgz}" DESTINATION "${unpack}" PATTERNS package/libduckdb.so)
  file(ARCHIVE_EXTRACT INPUT "${hdr_tgz}" DESTINATION "${unpack}"
    PATTERNS package/src/duckdb/src/include/duckdb.h)
  if(NOT EXISTS "${unpack}/package/libduckdb.so"
     OR NOT EXISTS "${unpack}/package/src/duckdb/src/include/duckdb.h")
    message(FATAL_ERROR "The DuckDB tarballs in ${cache} lack libduckdb.so or duckdb.h")
  endif()
  file(REMOVE_RECURSE "${dest}")
  file(MAKE_DIRECTORY "${dest}/lib" "${dest}/include")
  file(RENAME "${unpack}/package/libduckdb.so" "${dest}/lib/libduckdb.so")
  file(RENAME "${unpack}/package/src/duckdb/src/include/duckdb.h" "${dest}/include/duckdb.h")
  file(REMOVE_RECURSE "${unpack}")
  if(remove_cache)
    file(REMOVE_RECURSE "${cache}")
  endif()
  file(WRITE "${stamp}" "${LARDER_DUCKDB_VERSION}\n")
  message(STATUS "DuckDB ${LARDER_DUCKDB_VERSION} installed in ${dest}")
endfunction()

if(CMAKE_SCRIPT_MODE_FILE AND CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  if(NOT DEST)
    message(FATAL_ERROR "usage: cmake -DDEST=<dir> -P ${CMAKE_CURRENT_LIST_FILE}")
  endif()
  get_filename_component(DEST "${DEST}" ABSOLUTE)
  larder_fetch_duckdb("${DEST}")
endif()
