// ep_info_offloads_rma against endpoint descriptions as UCX 1.13.1 prints them (ucp_ep_print_info),
// for the transports the ucx profile meets: which of them do RMA without the target's help.
#include <gtest/gtest.h>

#include "transport/ucx_ep_info.h"

namespace echelon::transport {
namespace {

// UCX_TLS=tcp,self: one tcp lane for active messages and rendezvous (rma_bw), no RMA lane, so
// ucp_put_nbx / ucp_get_nbx are emulated with messages the target serves.
constexpr const char* kTcp = R"(#
# UCP endpoint
#
#               peer: <no debug data>
#                 lane[0]:  1:tcp/lo.0 md[1]                -> md[1]/tcp/sysdev[255] rma_bw#0 am am_bw#0 wireup
#
#                 am_send: 0..<egr/short>..8185..<egr/zcopy>..20553..<rndv>..(inf)
#
#                  rma_bw: mds [1] rndv_rkey_size 10
#
)";

// UCX_TLS=posix,self: the put/get lines are the emulation's thresholds, still no RMA lane.
constexpr const char* kPosix = R"(#
# UCP endpoint
#
#               peer: <no debug data>
#                 lane[0]:  1:posix/memory.0 md[1]          -> md[1]/posix/sysdev[255] am am_bw#0
#
#                 am_send: 0..<egr/short>..93..<egr/bcopy>..8256..<rndv>..(inf)
#                  put[0]: 0..<short>..4294967296..<bcopy>..(inf)
#                  get[0]: 0..<bcopy>..(inf)
#
#                  rma_bw: mds rndv_rkey_size 9
#
)";

// UCX_TLS=tcp,self,cma: cma serves rendezvous only.
constexpr const char* kTcpCma = R"(#
# UCP endpoint
#
#               peer: <no debug data>
#                 lane[0]:  1:tcp/lo.0 md[1]                -> md[1]/tcp/sysdev[255] am am_bw#0 wireup
#                 lane[1]:  2:cma/memory.0 md[2]            -> md[2]/cma/sysdev[255] rma_bw#0
#
#                  rma_bw: mds rndv_rkey_size 9
#
)";

// An RDMA endpoint (rc verbs): RMA lanes the NIC executes.
constexpr const char* kRc = R"(#
# UCP endpoint
#
#               peer: <no debug data>
#                 lane[0]:  3:rc_mlx5/mlx5_0:1.0 md[2]      -> md[2]/ib/sysdev[255] rma#0 rma_bw#0 amo#0 am am_bw#0
#                 lane[1]:  7:ud_mlx5/mlx5_0:1.0 md[2]      -> md[2]/ib/sysdev[255] wireup{ud}
#
)";

TEST(UcxEpInfo, EmulatedRmaIsNotOffloaded) {
  EXPECT_FALSE(ep_info_offloads_rma(kTcp));
  EXPECT_FALSE(ep_info_offloads_rma(kPosix));
  EXPECT_FALSE(ep_info_offloads_rma(kTcpCma));
}

TEST(UcxEpInfo, AnRmaLaneIsOffloaded) { EXPECT_TRUE(ep_info_offloads_rma(kRc)); }

TEST(UcxEpInfo, OnlyWholeRmaUsesOnLaneLinesCount) {
  EXPECT_FALSE(ep_info_offloads_rma(""));
  EXPECT_FALSE(ep_info_offloads_rma("# rma#0 outside a lane line"));
  EXPECT_FALSE(ep_info_offloads_rma("#  lane[0]: 1:x md[1] -> xrma#0 rma#  rma#x"));
  EXPECT_TRUE(ep_info_offloads_rma("#  lane[2]: 1:x md[1] -> md[1]/x rma#12"));
  EXPECT_TRUE(ep_info_offloads_rma("no newline at the end\n lane[0]: a rma#0"));
}

}  // namespace
}  // namespace echelon::transport
