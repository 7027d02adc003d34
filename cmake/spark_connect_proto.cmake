# Spark Connect's protocol as C++: the static library larder_spark_proto, the
# messages (protoc) and the gRPC stubs (grpc_cpp_plugin) generated from the
# .proto files that scripts/spark.sh protos (run by scripts/bootstrap.sh)
# extracts from Maven Central's spark-connect_2.13 jar into
# third_party/spark_connect_proto/. The protos are never part of the repo.
#
# The generated code compiles for about 2 minutes on 2 cores, so it is a
# library of its own that nothing else's change rebuilds. Its headers are
# included as "spark/connect/base.grpc.pb.h" and so on.
#
# SPARK_CONNECT_PROTO_DIR overrides where the protos are (the directory that
# holds spark/connect/*.proto).
#
# gRPC (Debian: libgrpc++-dev, protobuf-compiler-grpc) and protobuf
# (libprotobuf-dev, protobuf-compiler) are found through pkg-config: Debian
# 12's gRPC 1.51 installs no CMake package configuration for the C++ library.

set(SPARK_CONNECT_PROTO_DIR "${CMAKE_SOURCE_DIR}/third_party/spark_connect_proto"
  CACHE PATH "The directory holding spark/connect/*.proto (scripts/spark.sh protos)")
file(GLOB LARDER_SPARK_PROTOS "${SPARK_CONNECT_PROTO_DIR}/spark/connect/*.proto")
if(NOT LARDER_SPARK_PROTOS OR NOT EXISTS "${SPARK_CONNECT_PROTO_DIR}/spark/connect/base.proto")
  message(FATAL_ERROR "Spark Connect's .proto files are missing from ${SPARK_CONNECT_PROTO_DIR}: "
    "run scripts/bootstrap.sh (it runs scripts/spark.sh protos, which extracts them from Maven "
    "Central's org.apache.spark:spark-connect_2.13 jar)")
endif()
# An example of a server plugin; Larder needs none of it.
list(FILTER LARDER_SPARK_PROTOS EXCLUDE REGEX "/example_plugins\\.proto$")

pkg_check_modules(GRPCPP REQUIRED IMPORTED_TARGET grpc++)
pkg_check_modules(PROTOBUF REQUIRED IMPORTED_TARGET protobuf)
find_program(LARDER_PROTOC protoc)
find_program(LARDER_GRPC_CPP_PLUGIN grpc_cpp_plugin)
if(NOT LARDER_PROTOC OR NOT LARDER_GRPC_CPP_PLUGIN)
  message(FATAL_ERROR "protoc or grpc_cpp_plugin not found: run scripts/bootstrap.sh "
    "(protobuf-compiler, protobuf-compiler-grpc)")
endif()

set(LARDER_SPARK_PROTO_OUT "${CMAKE_BINARY_DIR}/generated/spark_connect_proto")
file(MAKE_DIRECTORY "${LARDER_SPARK_PROTO_OUT}")
set(larder_spark_proto_sources "")
foreach(proto ${LARDER_SPARK_PROTOS})
  get_filename_component(stem "${proto}" NAME_WE)
  set(base "${LARDER_SPARK_PROTO_OUT}/spark/connect/${stem}")
  set(outputs "${base}.pb.cc" "${base}.pb.h")
  set(grpc_args "")
  # Only base.proto declares a service (SparkConnectService).
  if(stem STREQUAL "base")
    list(APPEND outputs "${base}.grpc.pb.cc" "${base}.grpc.pb.h")
    set(grpc_args "--grpc_out=${LARDER_SPARK_PROTO_OUT}"
      "--plugin=protoc-gen-grpc=${LARDER_GRPC_CPP_PLUGIN}")
  endif()
  add_custom_command(OUTPUT ${outputs}
    COMMAND ${LARDER_PROTOC} "--proto_path=${SPARK_CONNECT_PROTO_DIR}"
      "--cpp_out=${LARDER_SPARK_PROTO_OUT}" ${grpc_args} "${proto}"
    DEPENDS "${proto}" ${LARDER_SPARK_PROTOS}
    COMMENT "Generating C++ from spark/connect/${stem}.proto" VERBATIM)
  list(APPEND larder_spark_proto_sources ${outputs})
endforeach()

add_library(larder_spark_proto STATIC ${larder_spark_proto_sources})
# Generated code: its includes are system includes, so that Larder's warnings
# do not apply to it where Larder includes it.
target_include_directories(larder_spark_proto SYSTEM PUBLIC "${LARDER_SPARK_PROTO_OUT}")
target_link_libraries(larder_spark_proto PUBLIC PkgConfig::GRPCPP PkgConfig::PROTOBUF)
