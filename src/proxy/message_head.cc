#include "proxy/message_head.h"

namespace warden::proxy {
namespace http = boost::beast::http;
namespace {

std::string_view versionText(unsigned version) {
  return version == 10 ? std::string_view("HTTP/1.0") : std::string_view("HTTP/1.1");
}

void appendFields(const http::fields& fields, std::string_view extra, std::string& out) {
  for (const auto& field : fields) {
    out.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
  }
  out.append(extra).append("\r\n");
}

}  // namespace

void serializeHead(const http::request_header<>& head, std::string& out,
                   std::string_view extra_fields) {
  out.clear();
  out.append(head.method_string()).push_back(' ');
  out.append(head.target()).push_back(' ');
  out.append(versionText(head.version())).append("\r\n");
  appendFields(head, extra_fields, out);
}

void serializeHead(const http::response_header<>& head, std::string& out,
                   std::string_view extra_fields) {
  out.clear();
  out.append(versionText(head.version())).push_back(' ');
  char status[4];
  const unsigned code = head.result_int() % 1000;
  status[0] = static_cast<char>('0' + code / 100);
  status[1] = static_cast<char>('0' + code / 10 % 10);
  status[2] = static_cast<char>('0' + code % 10);
  status[3] = ' ';
  out.append(status, 4).append(head.reason()).append("\r\n");
  appendFields(head, extra_fields, out);
}

}  // namespace warden::proxy
