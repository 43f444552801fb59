package dev.panda.dataplane.filter;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Finds {@link RxFilterProvider}s through {@link ServiceLoader} and opens a filter option:
 * {@code NAME[,ARGS]} names a provider; {@code PATH.o[,ARGS]} is shorthand for
 * {@code ebpf,obj=PATH.o[,ARGS]}.
 */
public final class RxFilters {

    private final List<RxFilterProvider> providers;

    private RxFilters(List<RxFilterProvider> providers) {
        this.providers = providers;
    }

    public static RxFilters discover() {
        List<RxFilterProvider> list = new ArrayList<>();
        ServiceLoader.load(RxFilterProvider.class, RxFilters.class.getClassLoader())
                .forEach(list::add);
        list.sort(Comparator.comparing(RxFilterProvider::name));
        return new RxFilters(List.copyOf(list));
    }

    public List<RxFilterProvider> providers() {
        return providers;
    }

    /** Opens {@code spec}; an unknown name or bad arguments throw {@link IllegalArgumentException}. */
    public RxFilter open(String spec, int maxStreams) {
        int comma = spec.indexOf(',');
        String name = comma < 0 ? spec : spec.substring(0, comma);
        String args = comma < 0 ? "" : spec.substring(comma + 1);
        if (name.endsWith(".o")) {
            args = "obj=" + name + (args.isEmpty() ? "" : "," + args);
            name = "ebpf";
        }
        for (RxFilterProvider p : providers) {
            if (p.name().equals(name)) {
                return p.open(args, maxStreams);
            }
        }
        throw new IllegalArgumentException("no rx filter '" + name + "'"
                + (providers.isEmpty()
                        ? " (no provider on the class path: xdp-loader provides them)"
                        : ": known filters are "
                                + String.join(
                                        ", ",
                                        providers.stream()
                                                .map(RxFilterProvider::name)
                                                .toList()) + ", or PATH.o"));
    }
}
