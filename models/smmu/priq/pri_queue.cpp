#include "models/smmu/priq/pri_queue.h"

namespace smmu {

arch::PriRecord PageRequest::record() const {
    namespace pri = arch::pri;
    arch::PriRecord r;
    r.set(pri::SID, sid);
    // The SSID field is written only with a PASID (Linux reads it only with SSV).
    r.set(pri::SSV, ssv);
    if (ssv) r.set(pri::SSID, ssid);
    // Without a PASID, X and Priv are 0 (IHI 0070 8).
    r.set(pri::PRIV, ssv && priv);
    r.set(pri::EXEC, ssv && exec);
    r.set(pri::READ, read);
    r.set(pri::WRITE, write);
    r.set(pri::L, last);
    r.set(pri::PRGIndex, prg_index);
    r.set(pri::Addr, addr & ~uint64_t{0xfff});
    return r;
}

PageRequest page_request_from(const arch::PriRecord& r) {
    namespace pri = arch::pri;
    PageRequest p;
    p.sid = static_cast<uint32_t>(r.get(pri::SID));
    p.ssv = r.get(pri::SSV);
    p.ssid = static_cast<uint32_t>(r.get(pri::SSID));
    p.priv = r.get(pri::PRIV);
    p.exec = r.get(pri::EXEC);
    p.read = r.get(pri::READ);
    p.write = r.get(pri::WRITE);
    p.last = r.get(pri::L);
    p.prg_index = static_cast<uint16_t>(r.get(pri::PRGIndex));
    p.addr = r.get(pri::Addr);
    return p;
}

}  // namespace smmu
