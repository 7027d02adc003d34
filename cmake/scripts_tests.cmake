# ctest tests of the scripts and of how the build configures itself
# (scripts/tests/), labelled `scripts`. Included by the root CMakeLists.txt
# after enable_testing().
add_test(NAME BuildScript.BuildTypeReachesTheCache
  COMMAND ${CMAKE_SOURCE_DIR}/scripts/tests/build_config_test.sh build-type)
set_tests_properties(BuildScript.BuildTypeReachesTheCache PROPERTIES LABELS scripts TIMEOUT 300)
# This one links the SDK's venv into a scratch dir, so it needs the venv
# (scripts/test.sh makes it; without it, PythonSdk fails already).
if(EXISTS ${LARDER_SDK_VENV}/bin/python)
  add_test(NAME BuildScript.SdkVenvMadeLaterIsPickedUp
    COMMAND ${CMAKE_SOURCE_DIR}/scripts/tests/build_config_test.sh sdk-venv)
  set_tests_properties(BuildScript.SdkVenvMadeLaterIsPickedUp PROPERTIES
    ENVIRONMENT "REAL_SDK_VENV=${LARDER_SDK_VENV}" LABELS scripts TIMEOUT 300)
endif()
