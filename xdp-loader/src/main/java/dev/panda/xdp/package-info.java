/**
 * xdp-loader: see the module README; not implemented yet.
 */
package dev.panda.xdp;
