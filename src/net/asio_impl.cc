// Separate compilation of Asio, Asio-SSL and Beast: their non-template code is compiled
// once here instead of in every translation unit that includes them (2-core builds).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
