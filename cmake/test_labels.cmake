# Configured with @ONLY into the build directory, then included by ctest
# (TEST_INCLUDE_FILES, after the tests that
# gtest_discover_tests found in larder_tests): gives ctest labels to
# gtest tests by the name of their suite, since gtest_discover_tests gives
# every test of one executable the same properties. Select them with
# `ctest -L <label>`.
#
# <label> <regex of the suite names>
set(larder_test_labels
  "kinesis" "^(Kinesis[A-Za-z]*|KinesaliteServer)$"
  "kafka" "^(Kafka[A-Za-z]*)$"
  "airflow" "^(Airflow[A-Za-z]*)$"
  "dbt" "^(Dbt[A-Za-z]*)$"
  "spark" "^(Spark[A-Za-z]*)$")

file(GLOB larder_discovered "${CMAKE_CURRENT_LIST_DIR}/larder_tests*_tests.cmake")
foreach(larder_file ${larder_discovered})
  file(STRINGS "${larder_file}" larder_adds REGEX "^add_test\\(\\[=\\[[^]]+\\]=\\]")
  foreach(larder_add ${larder_adds})
    string(REGEX MATCH "^add_test\\(\\[=\\[([^]]+)\\]=\\]" larder_match "${larder_add}")
    set(larder_test "${CMAKE_MATCH_1}")
    string(REGEX REPLACE "\\..*$" "" larder_suite "${larder_test}")
    set(larder_pairs ${larder_test_labels})
    while(larder_pairs)
      list(POP_FRONT larder_pairs larder_label larder_regex)
      if(larder_suite MATCHES "${larder_regex}")
        set_tests_properties("${larder_test}" PROPERTIES LABELS "${larder_label}")
      endif()
      # The tests of label spark share the run's one Spark Connect server
      # (the spark_server fixture: tests/tools/spark_fixture_main.cc).
      if(larder_suite MATCHES "${larder_regex}" AND larder_label STREQUAL "spark")
        set_tests_properties("${larder_test}" PROPERTIES FIXTURES_REQUIRED spark_server
          ENVIRONMENT "LARDER_TEST_SPARK_STATE=@LARDER_SPARK_STATE@")
      endif()
    endwhile()
  endforeach()
endforeach()
