package dev.panda.vswitch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** A net_vduse port's interrupt work placed off the pmd cores (PmdCores.withIrqCpus). */
class PmdCoresIrqTest {

    @Test
    void aVdusePortGetsTheCpusThatAreNotPmdCores() {
        assertEquals("net_vduse0,irq_cpumask=1", PmdCores.withIrqCpus("net_vduse0", new int[] {1}, new int[] {0, 1}));
        assertEquals(
                "net_vduse3,mac=02:00:00:00:00:01,irq_cpumask=d",
                PmdCores.withIrqCpus("net_vduse3,mac=02:00:00:00:00:01", new int[] {1}, new int[] {0, 1, 2, 3}));
    }

    @Test
    void leftAloneWhenChosenNotAKernelNicOrNoCpuIsLeft() {
        int[] pmd = {1};
        int[] all = {0, 1};
        assertEquals("net_vduse0,irq_cpumask=2", PmdCores.withIrqCpus("net_vduse0,irq_cpumask=2", pmd, all));
        assertEquals("net_vduse0,attach=vhost", PmdCores.withIrqCpus("net_vduse0,attach=vhost", pmd, all));
        assertEquals("net_vduse0,attach=none", PmdCores.withIrqCpus("net_vduse0,attach=none", pmd, all));
        assertEquals("net_tap0,iface=x", PmdCores.withIrqCpus("net_tap0,iface=x", pmd, all));
        assertEquals("net_vduse0", PmdCores.withIrqCpus("net_vduse0", new int[] {0, 1}, all));
    }
}
