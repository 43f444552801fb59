package dev.panda.vswitch.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The difference between two configs, as the lines {@code panda ctl apply} prints. */
class ConfigDiffTest {

    static VswitchConfig yaml(String text) {
        return ConfigFiles.parseYaml(text.getBytes(StandardCharsets.UTF_8), "t.yaml");
    }

    static final VswitchConfig RUNNING = yaml("""
            pmd: {cores: [1], mode: rtc}
            bridges:
              - name: br0
                ports:
                  - {name: vm1, device: 'net_vhost0,iface=/run/vm1.sock'}
                  - {name: c1, device: 'net_af_xdp0,iface=veth1', tag: 10}
                  - {name: c2, device: 'net_af_xdp1,iface=veth2', trunks: [10, 20]}
                  - {name: c4, device: 'net_af_xdp4,iface=a'}
              - name: br2
                ports:
                  - {name: t1, device: 'net_tap0', rx-filter: prefilter}
            """);

    @Test
    void everyKindOfChangeIsOneLine() {
        VswitchConfig desired = yaml("""
                pmd: {cores: [1], mode: rtc}
                bridges:
                  - name: br0
                    mac-aging: 60
                    mac-table-size: 1024
                    ports:
                      - {name: c1, device: 'net_af_xdp0,iface=veth1', tag: 20}
                      - {name: c4, device: 'net_af_xdp9,iface=b'}
                      - {name: c3, device: 'net_af_xdp3,iface=veth3', tag: 10, rx-filter: prefilter}
                  - name: br1
                    ports:
                      - {name: c2, device: 'net_af_xdp1,iface=veth2', trunks: [20, 10], native-vlan: 5}
                      - {name: u, device: 'net_tap1'}
                """);
        ConfigDiff d = ConfigDiff.between(RUNNING, desired);
        assertEquals("""
                - port br0 vm1
                - port br2 t1
                - bridge br2
                + port br0 c3 device 'net_af_xdp3,iface=veth3' tag 10 rx-filter 'prefilter'
                + bridge br1 mac-aging 300 mac-table-size 8192
                + port br1 u device 'net_tap1'
                ~ bridge br0 mac-aging 300 -> 60, mac-table-size 8192 -> 1024 (MACs relearned)
                ~ port br0 c1 tag 10 -> 20
                ~ port br0 c4 device 'net_af_xdp4,iface=a' -> 'net_af_xdp9,iface=b' (reopened)
                ~ port br1 c2 bridge br0 -> br1, native-vlan none -> 5
                """, d.text());
        assertEquals("10 changes: -2 port, -1 bridge, +2 port, +1 bridge, ~1 bridge, ~3 port", d.summary());
        ConfigDiff.PortChanged c2 = d.of(ConfigDiff.PortChanged.class).get(2);
        assertTrue(c2.moved() && c2.vlanChanged() && !c2.reopens() && !c2.filterChanged());
        ConfigDiff.PortChanged c4 = d.of(ConfigDiff.PortChanged.class).get(1);
        assertTrue(c4.reopens() && !c4.vlanChanged() && !c4.moved());
        assertTrue(d.pmd().isEmpty());
    }

    @Test
    void aConfigAgainstItselfOrItsOwnPrintoutIsEmpty() {
        assertTrue(ConfigDiff.between(RUNNING, RUNNING).isEmpty());
        VswitchConfig printed =
                ConfigFiles.parseYaml(ConfigFiles.toYaml(RUNNING).getBytes(StandardCharsets.UTF_8), "printed.yaml");
        assertTrue(ConfigDiff.between(RUNNING, printed).isEmpty());
        VswitchConfig json =
                ConfigFiles.configFromJson(ConfigFiles.toJson(RUNNING).getBytes(StandardCharsets.UTF_8));
        assertTrue(ConfigDiff.between(RUNNING, json).isEmpty());
        assertEquals("no changes", ConfigDiff.between(RUNNING, RUNNING).summary());
        assertEquals("", ConfigDiff.between(RUNNING, RUNNING).text());
    }

    @Test
    void pmdFieldsAreListedAndEmptyCoresMatchAnything() {
        VswitchConfig noCores = new VswitchConfig(
                new PmdConfig(java.util.List.of(), PmdConfig.Mode.RTC, "yield", null, 1024), RUNNING.bridges());
        assertTrue(ConfigDiff.between(RUNNING, noCores).isEmpty());
        VswitchConfig other = yaml("""
                pmd: {cores: "0-1", mode: pipeline, idle: park, ring-size: 256, stages: {tx: 1}, burst: 32}
                """);
        VswitchConfig pipeline = yaml("pmd: {cores: [1], mode: pipeline}");
        ConfigDiff d = ConfigDiff.between(pipeline, other);
        assertEquals("""
                ~ pmd cores 1 -> 0,1
                ~ pmd idle yield -> park
                ~ pmd burst 128 -> 32
                ~ pmd stages.tx none -> 1
                ~ pmd ring-size 1024 -> 256
                """, d.text());
        assertEquals(5, d.pmd().size());
        assertEquals(
                "~ pmd mode rtc -> pipeline\n",
                ConfigDiff.between(RUNNING, pipeline)
                                .text()
                                .lines()
                                .filter(l -> l.contains("pmd"))
                                .findFirst()
                                .orElseThrow()
                        + "\n");
        // stages and ring-size count only when both run the pipeline
        VswitchConfig rtc = yaml("pmd: {cores: [1], ring-size: 64, stages: {tx: 0}}");
        assertTrue(ConfigDiff.between(new VswitchConfig(RUNNING.pmd(), java.util.List.of()), rtc)
                .isEmpty());
    }

    @Test
    void aMetricsListenerThatDiffersIsAChangeAndNoneMatchesWhateverRuns() {
        VswitchConfig running = RUNNING.withMetrics(new MetricsConfig("127.0.0.1:9464"));
        assertTrue(ConfigDiff.between(running, RUNNING).isEmpty(), "no metrics block: whatever runs");
        assertTrue(ConfigDiff.between(running, running).isEmpty());
        ConfigDiff d = ConfigDiff.between(running, RUNNING.withMetrics(new MetricsConfig("127.0.0.1:9999")));
        assertEquals("~ metrics listen 127.0.0.1:9464 -> 127.0.0.1:9999\n", d.text());
        assertEquals(1, d.of(ConfigDiff.MetricsChanged.class).size());
        assertEquals(
                "~ metrics listen none -> 127.0.0.1:9464\n",
                ConfigDiff.between(RUNNING, running).text());
    }
}
