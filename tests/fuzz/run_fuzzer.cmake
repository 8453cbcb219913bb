# Runs a libFuzzer binary briefly over a writable copy of a seed corpus.
# Usage: cmake -DFUZZER=... -DSEED_CORPUS=... -DWORK_DIR=... [-DDICTIONARY=...] [-DMAX_TOTAL_TIME=20]
#              -P run_fuzzer.cmake
foreach(var FUZZER SEED_CORPUS WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake: ${var} is not set")
  endif()
endforeach()
if(NOT DEFINED MAX_TOTAL_TIME)
  set(MAX_TOTAL_TIME 20)
endif()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/artifacts)
file(COPY ${SEED_CORPUS}/ DESTINATION ${WORK_DIR}/corpus)

set(dictionary_option)
if(DEFINED DICTIONARY)
  set(dictionary_option -dict=${DICTIONARY})
endif()

execute_process(
  COMMAND ${FUZZER} ${dictionary_option} -max_total_time=${MAX_TOTAL_TIME} -rss_limit_mb=2048 -timeout=10
          -print_final_stats=1 -artifact_prefix=${WORK_DIR}/artifacts/ ${WORK_DIR}/corpus
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  file(GLOB artifacts ${WORK_DIR}/artifacts/*)
  message(FATAL_ERROR "the fuzzer failed (${result}); reproduce with: ${FUZZER} ${artifacts}")
endif()
