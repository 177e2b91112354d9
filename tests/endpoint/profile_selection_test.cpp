// Transport profile names at add_remote_worker (buffers.md 9.1, 9.4; BUF-27): the hardware HCOMM
// profiles of the original design are refused with a pointer to the profile to use instead.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "echelon/errors.h"
#include "echelon/remote_worker.h"
#include "echelon/worker.h"

namespace echelon {
namespace {

std::string refusal(const std::string& profile) {
  RemoteWorkerSpec s;
  s.port = 19073;
  s.transport_profile = profile;
  try {
    s.validate();
  } catch (const ValidationError& e) {
    return e.what();
  }
  return {};
}

TEST(ProfileSelection, HardwareProfilesRefused) {
  for (const char* name : {"roce", "RoCE", "hccs", "HCCS", "ub", "UB_LDST", "hcomm", "COMM_PROTOCOL_ROCE"}) {
    const std::string what = refusal(name);
    EXPECT_NE(what.find("RemoteWorkerSpec.transport_profile"), std::string::npos) << what;
    EXPECT_NE(what.find(std::string("'") + name + "' is not available"), std::string::npos) << what;
    EXPECT_NE(what.find("hardware HCOMM profiles"), std::string::npos) << what;
    EXPECT_NE(what.find("Use \"ucx\""), std::string::npos) << what;
  }
}

TEST(ProfileSelection, UnknownProfileNamesTheKnownOnes) {
  const std::string what = refusal("carrier_pigeon");
  EXPECT_NE(what.find("'carrier_pigeon' is unknown"), std::string::npos) << what;
  EXPECT_NE(what.find("\"host_tcp\""), std::string::npos) << what;
  EXPECT_EQ(refusal("host_tcp"), "");
  EXPECT_EQ(refusal("ucx"), "");
}

// UCX absent at run time: add_remote_worker names the library to install. A forked child, because
// the module is loaded once per process and another test may have loaded it already.
TEST(ProfileSelection, MissingUcxNamesTheLibrary) {
  EXPECT_EXIT(
      {
        ::setenv("ECHELON_UCX_MODULE", "/nonexistent/libechelon_ucx.so", 1);
        RemoteWorkerSpec s;
        s.port = 19073;
        s.transport_profile = "ucx";
        Worker w(4);
        try {
          w.add_remote_worker(s);
        } catch (const ValidationError& e) {
          const std::string what = e.what();
          std::fprintf(stderr, "%s\n", what.c_str());
          const bool names = what.find("RemoteWorkerSpec.transport_profile") != std::string::npos &&
                             what.find("libucp.so.0") != std::string::npos &&
                             what.find("libucx0") != std::string::npos &&
                             what.find("/nonexistent/libechelon_ucx.so") != std::string::npos;
          std::_Exit(names ? 0 : 2);
        }
        std::_Exit(1);
      },
      ::testing::ExitedWithCode(0), "libucp.so.0");
}

}  // namespace
}  // namespace echelon
