#!/bin/bash
# Builds the real-Linux QEMU fixture of traces/qemu/ (issue 10): Debian 12's QEMU 7.2
# (qemu-system-aarch64 -M virt,iommu=smmuv3, TCG) boots Debian's unmodified arm64 kernel with a
# busybox initramfs whose init runs a DMA workload through the SMMU, with `-trace 'smmu*'`.
#
#   bash scripts/qemu-linux-trace.sh [OUTDIR]     # default: traces/qemu
#
# Writes OUTDIR/linux-6.1-virtio.trace.xz (QEMU's smmu trace, log backend) and
# OUTDIR/linux-6.1-virtio.console.log (the guest's serial console). Needs root (apt-get) and the
# Debian archive; the test suite does not: it replays the committed output.
#
# Everything comes from Debian packages: qemu-system-arm, xz-utils, cpio, gcc-aarch64-linux-gnu and
# libc6-dev-arm64-cross (host: to build the one workload program busybox lacks); for arm64
# (dpkg --add-architecture arm64) the kernel the linux-image-arm64 meta-package names and
# busybox-static, fetched with `apt-get download` and unpacked, not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/traces/qemu}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/qemu-linux-trace.XXXXXX)
trap 'rm -rf "$work"' EXIT

export DEBIAN_FRONTEND=noninteractive
need=()
command -v qemu-system-aarch64 >/dev/null || need+=(qemu-system-arm)
command -v xz >/dev/null || need+=(xz-utils)
command -v cpio >/dev/null || need+=(cpio)
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    apt-get update
elif [ ${#need[@]} -gt 0 ] || ! apt-cache show busybox-static:arm64 >/dev/null 2>&1; then
    apt-get update
fi
[ ${#need[@]} -eq 0 ] || apt-get install -y --no-install-recommends "${need[@]}"

cd "$work"
# The kernel the meta-package currently depends on (Debian 12: linux-image-6.1.0-N-arm64).
kpkg=$(apt-cache depends linux-image-arm64:arm64 | awk '/Depends: linux-image-/ {sub(":arm64", "", $2); print $2; exit}')
apt-get download "$kpkg:arm64" busybox-static:arm64
dpkg-deb -x "$kpkg"_*.deb kernel
dpkg-deb -x busybox-static_*.deb busybox
kver=$(ls kernel/lib/modules)
echo "kernel $kver, $(qemu-system-aarch64 --version | head -1)"

# The initramfs: busybox, the virtio modules (arm-smmu-v3, virtio and PCI host are built in), init.
root=$work/root
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,mod}
cp busybox/bin/busybox "$root/bin/busybox"
for a in sh mount insmod dd head sleep echo cat readlink basename poweroff sync ls grep; do ln -s busybox "$root/bin/$a"; done
# Load order: dependencies first (virtio core and virtio_ring are built in).
mods="drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci
      drivers/block/virtio_blk drivers/char/hw_random/virtio-rng"
for m in $mods; do cp "kernel/lib/modules/$kver/kernel/$m.ko" "$root/mod/"; done
# dmahuge: one 2 MiB O_DIRECT read into a transparent huge page (2 MiB-aligned, physically
# contiguous): the DMA API maps it as one segment at a 2 MiB-aligned IOVA (alloc_iova size-aligns)
# and io-pgtable writes a level-2 block descriptor.
cat > dmahuge.c <<'EOF_C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const size_t huge = 2u << 20;
    if (argc < 2) return 2;
    char *raw = mmap(NULL, 2 * huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) { perror("mmap"); return 1; }
    char *buf = (char *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
    if (madvise(buf, huge, MADV_HUGEPAGE)) perror("madvise");
    memset(buf, 1, huge);
    int fd = open(argv[1], O_RDONLY | O_DIRECT);
    if (fd < 0) { perror("open"); return 1; }
    ssize_t n = pread(fd, buf, huge, 0);
    printf("dmahuge: read %zd bytes\n", n);
    return n == (ssize_t)huge ? 0 : 1;
}
EOF_C
aarch64-linux-gnu-gcc -static -O2 -o "$root/bin/dmahuge" dmahuge.c
cat > "$root/init" <<'EOF'
#!/bin/sh
# The DMA workload. Devices (QEMU -device order): 00:01.0 virtio-blk vda, 00:02.0 virtio-blk vdb,
# 00:03.0 virtio-rng: StreamIDs 0x8, 0x10, 0x18, each its own IOMMU group and DMA domain.
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
echo "workload: modules"
for m in virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk virtio-rng; do insmod /mod/$m.ko; done
sleep 1
grp() { basename "$(readlink /sys/bus/pci/devices/$1/iommu_group)"; }
for d in 0000:00:01.0 0000:00:02.0 0000:00:03.0; do echo "workload: $d group $(grp $d) type $(cat /sys/bus/pci/devices/$d/iommu_group/type)"; done
echo "workload: reads and writes on vda (strict DMA domain: TLBI_NH_VA + SYNC per unmap)"
dd if=/dev/vda of=/dev/null bs=64k count=4 2>/dev/null
dd if=/dev/zero of=/dev/vda bs=4k count=4 seek=64 conv=fsync 2>/dev/null
echo "workload: map/unmap churn (O_DIRECT reads of single blocks)"
i=0; while [ $i -lt 12 ]; do dd if=/dev/vda of=/dev/null bs=4k count=1 skip=$((i * 3)) iflag=direct 2>/dev/null; i=$((i + 1)); done
dd if=/dev/vda of=/dev/null bs=256k count=2 skip=4 iflag=direct 2>/dev/null
echo "workload: a 2 MiB block (one request, one segment: raise the request size limit first)"
q=/sys/block/vda/queue
cat $q/max_hw_sectors_kb > $q/max_sectors_kb
echo "workload: vda max_sectors_kb $(cat $q/max_sectors_kb) max_segment_size $(cat $q/max_segment_size) max_segments $(cat $q/max_segments) THP $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
dmahuge /dev/vda
grep -i AnonHugePages /proc/meminfo
echo "workload: virtio-rng"
head -c 64 /dev/hwrng > /dev/null
switch() {  # device, new group type: unbind, change the default domain, rebind
    echo "$1" > /sys/bus/pci/drivers/virtio-pci/unbind
    echo "$2" > "/sys/kernel/iommu_groups/$(grp $1)/type"
    echo "$1" > /sys/bus/pci/drivers/virtio-pci/bind
    sleep 1
    echo "workload: $1 now $(cat /sys/bus/pci/devices/$1/iommu_group/type)"
}
echo "workload: vdb DMA -> identity (bypass STE)"
switch 0000:00:02.0 identity
dd if=/dev/vdb of=/dev/null bs=4k count=4 iflag=direct 2>/dev/null
echo "workload: vdb identity -> DMA-FQ (lazy: flush queue, TLBI_NH_ASID later)"
switch 0000:00:02.0 DMA-FQ
i=0; while [ $i -lt 8 ]; do dd if=/dev/vdb of=/dev/null bs=4k count=1 skip=$((i * 5)) iflag=direct 2>/dev/null; i=$((i + 1)); done
dd if=/dev/zero of=/dev/vdb bs=4k count=2 seek=32 oflag=direct 2>/dev/null
sleep 1
echo "workload: vdb DMA-FQ -> DMA (strict again)"
switch 0000:00:02.0 DMA
dd if=/dev/vdb of=/dev/null bs=4k count=2 skip=40 iflag=direct 2>/dev/null
echo "workload: done"
sync
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) > initrd.gz
dd if=/dev/urandom of=vda.img bs=1M count=4 status=none
dd if=/dev/urandom of=vdb.img bs=1M count=4 status=none

# One CPU, TCG; 1 GiB (below 512 MiB the kernel turns transparent huge pages off); the SMMU's trace
# with the log backend to a file.
# Modern virtio with VIRTIO_F_ACCESS_PLATFORM: without it the guest skips the DMA API (no IOMMU maps).
vopt=disable-legacy=on,iommu_platform=on
timeout 1200 qemu-system-aarch64 -M virt,iommu=smmuv3 -cpu cortex-a57 -smp 1 -m 1024M -accel tcg \
    -kernel "kernel/boot/vmlinuz-$kver" -initrd initrd.gz \
    -append "console=ttyAMA0 rdinit=/init iommu.strict=1 panic=-1" \
    -drive if=none,id=d0,file=vda.img,format=raw -device virtio-blk-pci,drive=d0,addr=0x1,$vopt \
    -drive if=none,id=d1,file=vdb.img,format=raw -device virtio-blk-pci,drive=d1,addr=0x2,$vopt \
    -device virtio-rng-pci,addr=0x3,$vopt \
    -display none -monitor none -nic none -serial "file:$work/console.log" -no-reboot \
    -trace 'smmu*' -D "$work/smmu.trace"
grep -q 'workload: done' console.log || { echo "the workload did not finish: see $work/console.log" >&2; trap - EXIT; exit 1; }
sed 's/\r$//' console.log > "$out/linux-6.1-virtio.console.log"
xz -9 -T1 -c smmu.trace > "$out/linux-6.1-virtio.trace.xz"
echo "wrote $out/linux-6.1-virtio.trace.xz ($(wc -l < smmu.trace) trace lines) and the console log"
