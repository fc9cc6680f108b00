// cluster-key-slot ships no types; this is its documented API (the slot Redis Cluster gives a key).
declare module "cluster-key-slot" {
  /** The hash slot (0-16383) of a key, honouring `{hash tags}`. */
  function calculateSlot(key: string | Buffer): number;
  namespace calculateSlot {
    /** The slot all keys share, or -1 when they do not. */
    function generateMulti(keys: (string | Buffer)[]): number;
  }
  export default calculateSlot;
}
