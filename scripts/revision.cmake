# Writes OUT, a header defining IAPT_REVISION as `git describe` of SOURCE ("unknown" outside a git
# checkout), and only when it changed: a commit recompiles the one file that includes it, an
# unchanged tree nothing. Run at every build: cmake -DSOURCE=... -DOUT=... -P revision.cmake
execute_process(COMMAND git -C "${SOURCE}" describe --always --dirty --abbrev=12
                OUTPUT_VARIABLE revision RESULT_VARIABLE status ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT status EQUAL 0 OR revision STREQUAL "")
  set(revision "unknown")
endif()
set(text "#pragma once\n#define IAPT_REVISION \"${revision}\"\n")
set(old "")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
