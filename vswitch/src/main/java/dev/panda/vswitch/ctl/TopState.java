package dev.panda.vswitch.ctl;

import dev.panda.vswitch.ctl.TopModel.PortRow;
import dev.panda.vswitch.ctl.TopModel.SortKey;
import java.util.List;

/**
 * What the user chose on {@code panda top}'s screen: the sort key, the selected port (by name, so the
 * selection stays on a port while rows move) and whether its detail is shown.
 */
final class TopState {

    /** What a key does. */
    enum Op {
        QUIT,
        UP,
        DOWN,
        PAGE_UP,
        PAGE_DOWN,
        FIRST,
        LAST,
        DETAIL,
        BACK,
        NEXT_SORT,
        SORT_NAME,
        SORT_RX_PPS,
        SORT_TX_PPS,
        SORT_RX_BPS,
        SORT_TX_BPS,
        SORT_DROPS,
        REDRAW
    }

    SortKey sort;
    String selected;
    boolean detail;
    boolean quit;

    TopState(SortKey sort) {
        this.sort = sort;
    }

    /** The selected row's index in {@code rows} (sorted), 0 if the selected port is gone; -1 if none. */
    int index(List<PortRow> rows) {
        if (rows.isEmpty()) {
            return -1;
        }
        for (int i = 0; i < rows.size(); i++) {
            if (rows.get(i).name().equals(selected)) {
                return i;
            }
        }
        return 0;
    }

    /**
     * Applies {@code op} to the rows as shown ({@code rows}: sorted by {@link #sort}); {@code page} is
     * how many rows a page moves.
     */
    void apply(Op op, List<PortRow> rows, int page) {
        int i = index(rows);
        switch (op) {
            case QUIT -> quit = true;
            case UP -> select(rows, i - 1);
            case DOWN -> select(rows, i + 1);
            case PAGE_UP -> select(rows, i - Math.max(1, page));
            case PAGE_DOWN -> select(rows, i + Math.max(1, page));
            case FIRST -> select(rows, 0);
            case LAST -> select(rows, rows.size() - 1);
            case DETAIL -> {
                if (detail) {
                    detail = false;
                } else if (i >= 0) {
                    select(rows, i);
                    detail = true;
                }
            }
            case BACK -> detail = false;
            case NEXT_SORT -> sort = sort.next();
            case SORT_NAME -> sort = SortKey.NAME;
            case SORT_RX_PPS -> sort = SortKey.RX_PPS;
            case SORT_TX_PPS -> sort = SortKey.TX_PPS;
            case SORT_RX_BPS -> sort = SortKey.RX_BPS;
            case SORT_TX_BPS -> sort = SortKey.TX_BPS;
            case SORT_DROPS -> sort = SortKey.DROPS;
            case REDRAW -> {}
        }
    }

    private void select(List<PortRow> rows, int i) {
        if (!rows.isEmpty()) {
            selected = rows.get(Math.clamp(i, 0, rows.size() - 1)).name();
        }
    }
}
