/**
 * pmd-virtio: see the module README; not implemented yet.
 */
package dev.panda.pmd.virtio;
