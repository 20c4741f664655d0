// Trace control records for iommufd objects in time (traces/README.md,
// "Lifetime records"): each is one ioctl a VMM makes, or a VM-wide shorthand
// for the sequence a VMM runs when a VM starts or stops.
//
//   <t> hwpt_alloc    <name> vm=<vm> [smmu=<smmu>]              IOMMU_HWPT_ALLOC (NEST_PARENT): the VM's S2
//   <t> viommu_alloc  <name> hwpt=<s2> [smmu=<smmu>]            IOMMU_VIOMMU_ALLOC
//   <t> vdevice_alloc <name> viommu=<v> device=<dev> vsid=<n>   IOMMU_VDEVICE_ALLOC
//   <t> nested_alloc  <name> viommu=<v> vste=<abort|bypass|s1> [device=<dev>]
//                                                               IOMMU_HWPT_ALLOC of a nested HWPT from a vSTE
//   <t> veventq_alloc <name> viommu=<v> depth=<n>               IOMMU_VEVENTQ_ALLOC (type ARM_SMMUV3)
//   <t> destroy <name>                                          IOMMU_DESTROY
//   <t> attach  <device> <abort|bypass|<hwpt>>                  attach, or replace when attached
//   <t> detach  <device>                                        back to the blocked domain
//   <t> vm_start <vm>    <t> vm_stop <vm>
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "testbenches/config/change.h"
#include "testbenches/config/config.h"

namespace smmu::sim {

// The record words (after the time) that start a lifetime record.
bool is_lifetime_keyword(std::string_view word);
// Parses `tok` (tok[0] the time, tok[1] the keyword); InputError "at: field: problem".
ChangeRecord parse_lifetime(const std::vector<std::string>& tok, const std::string& at);
// What the config alone can tell: the VMs, devices and SMMU instances named exist.
void check_lifetime(const Config& config, const ChangeRecord& change);
// The record's keyword ("hwpt_alloc", "attach"...), for stats.
const char* lifetime_op_name(LifetimeOp::Op op);

}  // namespace smmu::sim
