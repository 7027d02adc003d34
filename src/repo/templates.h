// Feature repo templates for `larder init`.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "larder/status.h"

namespace larder::repo {

struct TemplateFile {
  std::string_view path;     // relative to the repo root
  std::string_view content;
};

// The book-recommendation example (examples/book_recs), embedded at build
// time by cmake/embed_files.cmake.
std::span<const TemplateFile> BookRecsTemplateFiles();
// A minimal repo: one entity, a small CSV source, a view and a service.
std::span<const TemplateFile> MinimalTemplateFiles();

// Writes template `name` ("minimal" or "book_recs") into `dir`, which must
// not exist or be empty. InvalidArgument for an unknown name;
// AlreadyExists when dir holds files.
Status WriteTemplate(std::string_view name, const std::string& dir);

}  // namespace larder::repo
