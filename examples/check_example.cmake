# Runs one example and checks its output: the CTest smoke test behind every
# example.<name>.<method> test. Usage (examples/CMakeLists.txt writes SPEC):
#
#   cmake -DSPEC=<file> -P check_example.cmake
#
# SPEC sets:
#   EXAMPLE_COMMAND  the command: the cross-compiling emulator, if any, then
#                    the executable
#   EXAMPLE_TIMEOUT  seconds before the run counts as hung
#   EXAMPLE_FULL     optional regex for the whole standard output
#   EXAMPLE_LINES    optional exact number of output lines
#   EXAMPLE_EXPECT   regexes that must each match one whole line (or several
#                    consecutive lines, when the regex holds "\n"), in any
#                    order, since the children's lines may interleave
#
# Why not PASS_REGULAR_EXPRESSION: with several regexes CTest passes when
# ANY one matches, and it then ignores the exit code. An example must exit
# with 0, print nothing on stderr, and print ALL its key lines.
#
# Output is compared byte for byte (UTF-8); "\r" is dropped, so Windows text
# mode ("\r\n") compares like "\n".
cmake_minimum_required(VERSION 3.16)

include("${SPEC}")

execute_process(
  COMMAND ${EXAMPLE_COMMAND}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  TIMEOUT ${EXAMPLE_TIMEOUT})

string(REPLACE "\r" "" out "${out}")
string(REPLACE "\r" "" err "${err}")
message("---- stdout\n${out}---- stderr\n${err}---- exit: ${rc}")

set(failures "")
if(NOT rc STREQUAL "0")
  string(APPEND failures "  exit status is '${rc}', not 0\n")
endif()
if(NOT err STREQUAL "")
  string(APPEND failures "  something was written to stderr\n")
endif()

# The output without its final newline, and framed by newlines, so that
# "\n<regex>\n" matches whole lines only.
string(REGEX REPLACE "\n$" "" body "${out}")
set(framed "\n${body}\n")

if(DEFINED EXAMPLE_FULL AND NOT body MATCHES "^${EXAMPLE_FULL}$")
  string(APPEND failures "  the output does not match, as a whole:\n${EXAMPLE_FULL}\n")
endif()

if(DEFINED EXAMPLE_LINES)
  string(REGEX REPLACE "[^\n]" "" newlines "${framed}")
  string(LENGTH "${newlines}" n)
  math(EXPR n "${n} - 1")
  if(body STREQUAL "")
    set(n 0)
  endif()
  if(NOT n EQUAL EXAMPLE_LINES)
    string(APPEND failures "  ${n} lines of output, expected ${EXAMPLE_LINES}\n")
  endif()
endif()

foreach(re IN LISTS EXAMPLE_EXPECT)
  if(NOT framed MATCHES "\n${re}\n")
    string(APPEND failures "  no line matches: ${re}\n")
  endif()
endforeach()

if(failures)
  message(FATAL_ERROR "example failed:\n${failures}")
endif()
message("example ok")
