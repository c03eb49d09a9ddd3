# One place for compiler warnings. Applied per target with daap_warnings(tgt).
function(daap_warnings tgt)
  target_compile_options(${tgt} PRIVATE
    $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
      -Wformat=2 -Wno-format-nonliteral -Wno-unused-parameter -Wno-missing-field-initializers -Wpointer-arith -Wvla -Wundef>)
  if(DAAP_WARNINGS_AS_ERRORS)
    target_compile_options(${tgt} PRIVATE $<$<COMPILE_LANGUAGE:C>:-Werror>)
  endif()
endfunction()
