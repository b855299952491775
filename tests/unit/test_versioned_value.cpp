#define BOOST_TEST_MODULE test_versioned_value
#include <boost/test/unit_test.hpp>
BOOST_AUTO_TEST_CASE(placeholder) {}
