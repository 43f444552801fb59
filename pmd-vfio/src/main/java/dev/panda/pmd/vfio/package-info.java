/**
 * pmd-vfio: see the module README; not implemented yet.
 */
package dev.panda.pmd.vfio;
