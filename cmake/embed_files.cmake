# Writes a C++ source defining a table of files (path, content) for a named
# template, so that `larder init --template NAME` works from any directory.
#   cmake -DOUT=... -DBASE=... -DFUNCTION=... -DFILES="a|b" -P embed_files.cmake
string(REPLACE "|" ";" FILES "${FILES}")
set(body "// Generated from ${BASE} by cmake/embed_files.cmake. Do not edit.\n")
string(APPEND body "#include \"repo/templates.h\"\n\nnamespace larder::repo {\n\n")
string(APPEND body "std::span<const TemplateFile> ${FUNCTION}() {\n")
string(APPEND body "  static const TemplateFile kFiles[] = {\n")
foreach(f IN LISTS FILES)
  file(RELATIVE_PATH rel ${BASE} ${f})
  file(READ ${f} content)
  string(APPEND body "      {\"${rel}\", R\"larder_tpl(${content})larder_tpl\"},\n")
endforeach()
string(APPEND body "  };\n  return kFiles;\n}\n\n}  // namespace larder::repo\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
