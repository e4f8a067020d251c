/* camure's C API: MPI-style init/rank/size, barrier, bcast and topic publish/subscribe. */
#ifndef CAMURE_CAMURE_H
#define CAMURE_CAMURE_H

#include <stddef.h>

#if defined(__GNUC__) || defined(__clang__)
#define CAMURE_C_API __attribute__((visibility("default")))
#else
#define CAMURE_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @file camure.h
 * @brief The C API of camure.
 *
 * Every call that can fail returns 0 on success or a negative `CAMURE_ERR_*` code; the
 * codes are the negated values of `camure::errc`. camure_strerror() turns a code into text
 * and camure_last_error_detail() gives the calling thread's context for its last failure.
 *
 * A program started by `camurerun -n N ./app` runs as N ranks; started without camurerun it
 * runs as a single rank (rank 0 of 1). Calls before camure_init() or after camure_finalize()
 * return CAMURE_ERR_NOT_INITIALIZED. Collectives (barrier, bcast) must be called by every
 * rank in the same order, from one thread per rank at a time, as with MPI.
 *
 * @code
 * #include <camure/camure.h>
 * int main(int argc, char **argv) {
 *   if (camure_init(&argc, &argv) != 0) return 1;
 *   int value = camure_rank() == 0 ? 42 : 0;
 *   camure_bcast(&value, sizeof value, 0);
 *   camure_barrier();
 *   return camure_finalize() == 0 ? 0 : 1;
 * }
 * @endcode
 */

/** @name Error codes (negated camure::errc values) */
/**@{*/
#define CAMURE_SUCCESS 0
#define CAMURE_ERR_TIMEOUT (-1)            /**< a deadline passed */
#define CAMURE_ERR_PEER_LOST (-2)          /**< another rank died or left */
#define CAMURE_ERR_VERSION_MISMATCH (-3)   /**< layout or protocol version differs */
#define CAMURE_ERR_BAD_MAGIC (-4)          /**< segment or frame is not camure's */
#define CAMURE_ERR_SIZE_MISMATCH (-5)      /**< segment size differs */
#define CAMURE_ERR_INVALID_ARGUMENT (-6)   /**< bad parameter (root, size, topic, ...) */
#define CAMURE_ERR_NOT_FOUND (-7)          /**< named object does not exist */
#define CAMURE_ERR_ALREADY_EXISTS (-8)     /**< named object exists */
#define CAMURE_ERR_MESSAGE_TOO_LARGE (-9)  /**< message larger than the transport allows */
#define CAMURE_ERR_MESSAGES_LOST (-10)     /**< a subscriber was overrun; messages were lost */
#define CAMURE_ERR_CLOSED (-11)            /**< object closed or shut down */
#define CAMURE_ERR_COORDINATOR_LOST (-12)  /**< session coordinator gone */
#define CAMURE_ERR_EVICTED (-13)           /**< evicted from the session */
#define CAMURE_ERR_AUTH_FAILED (-14)       /**< authentication failed */
#define CAMURE_ERR_SYSTEM (-15)            /**< an OS call failed (see the detail) */
#define CAMURE_ERR_NO_MEMORY (-16)         /**< allocation or mapping failed */
#define CAMURE_ERR_NOT_INITIALIZED (-17)   /**< camure_init not called, or finalized */
#define CAMURE_ERR_INTERNAL (-18)          /**< a bug inside camure */
#define CAMURE_ERR_WOULD_BLOCK (-19)       /**< nothing available right now */
#define CAMURE_ERR_TRUNCATED (-20)         /**< destination buffer too small */
#define CAMURE_ERR_BUSY (-21)              /**< resource in use */
#define CAMURE_ERR_NOT_READY (-22)         /**< segment not ready before the deadline */
#define CAMURE_ERR_OWNER_DIED (-23)        /**< lock owner died; state repaired */
#define CAMURE_ERR_ABORTED (-24)           /**< the job was aborted */
#define CAMURE_ERR_PROTOCOL (-25)          /**< a peer broke the protocol */
#define CAMURE_ERR_UNSUPPORTED (-26)       /**< feature not supported here */
/**@}*/

/**
 * Initialises the runtime: reads the rank's place in the job from the environment camurerun
 * sets (or runs as a single rank without it) and attaches the host's shared memory. In a job
 * across hosts, each host's first rank (its node leader) also joins the job's multicast
 * session with the other leaders; init returns once every host is connected.
 * @param argc may be NULL; arguments are left untouched.
 * @param argv may be NULL.
 * @return 0; CAMURE_ERR_ALREADY_EXISTS if already initialised; CAMURE_ERR_INVALID_ARGUMENT
 *         if the launcher environment is malformed; CAMURE_ERR_NOT_READY / TIMEOUT /
 *         PEER_LOST if the other ranks of the host do not show up; TIMEOUT /
 *         COORDINATOR_LOST / SYSTEM_ERROR if the hosts' leaders cannot connect.
 */
CAMURE_C_API int camure_init(int *argc, char ***argv);

/**
 * Leaves the job: waits for every rank of the job (a barrier), then detaches. Open
 * subscriptions are closed. After it, other calls return CAMURE_ERR_NOT_INITIALIZED.
 * @return 0, or a negative code (the runtime is released either way).
 */
CAMURE_C_API int camure_finalize(void);

/** @return 1 if camure_init succeeded and camure_finalize was not called yet, else 0. */
CAMURE_C_API int camure_initialized(void);

/** @return this rank, 0 .. size-1, or CAMURE_ERR_NOT_INITIALIZED. */
CAMURE_C_API int camure_rank(void);

/** @return the number of ranks in the job, or CAMURE_ERR_NOT_INITIALIZED. */
CAMURE_C_API int camure_size(void);

/** @return this rank's index among the ranks of its host, or CAMURE_ERR_NOT_INITIALIZED. */
CAMURE_C_API int camure_local_rank(void);

/** @return the number of ranks on this host, or CAMURE_ERR_NOT_INITIALIZED. */
CAMURE_C_API int camure_local_size(void);

/** @return this host's index in the job (0-based), or CAMURE_ERR_NOT_INITIALIZED. */
CAMURE_C_API int camure_node_id(void);

/**
 * Blocks until every rank has entered the barrier. Waits spin briefly, then sleep.
 * @return 0; CAMURE_ERR_PEER_LOST if a rank died while others waited; CAMURE_ERR_TIMEOUT if
 *         the job's collective timeout (env CAMURE_COLLECTIVE_TIMEOUT, seconds) passed.
 */
CAMURE_C_API int camure_barrier(void);

/**
 * Broadcasts `bytes` bytes from `root`'s buf into every rank's buf. Every rank passes the
 * same bytes and root. Any size (0 .. SIZE_MAX); large messages are pipelined.
 * @return 0; CAMURE_ERR_INVALID_ARGUMENT for a bad root, a NULL buf with bytes > 0, or a
 *         size that differs from the root's; CAMURE_ERR_PEER_LOST / TIMEOUT as for barrier.
 */
CAMURE_C_API int camure_bcast(void *buf, size_t bytes, int root);

/** @return seconds since an arbitrary fixed point, monotonic; works without init. */
CAMURE_C_API double camure_wtime(void);

/**
 * Ends the whole job with exit_code: tells camurerun (which stops every rank) and exits this
 * process with exit_code. Without camurerun it just exits. Never returns.
 */
CAMURE_C_API void camure_abort(int exit_code);

/** @return a static text for a code (0 or negative); never NULL. */
CAMURE_C_API const char *camure_strerror(int err);

/**
 * @return the calling thread's detail message for its last failed camure call (e.g.
 *         "camure_bcast: root 7 out of range [0, 4)"), or "" if none. Valid until the
 *         thread's next camure call.
 */
CAMURE_C_API const char *camure_last_error_detail(void);

/* ---------------------------------------------------------------------------------------- */
/** @name Topics: hierarchical publish/subscribe between the ranks of the job (all hosts) */
/**@{*/

/** Flag for camure_publish(): deliver also to subscribers of descendant topics. */
#define CAMURE_TOPIC_TO_DESCENDANTS 1u
/** Flag for camure_subscribe(): receive also messages for descendant topics ("/a" gets "/a/b"). */
#define CAMURE_TOPIC_WITH_DESCENDANTS 1u

/** An open subscription; created by camure_subscribe*, released by camure_unsubscribe. */
typedef struct camure_subscription camure_subscription;

/**
 * Called for each message of a callback subscription, on that subscription's delivery thread
 * (one per callback subscription: callbacks of one subscription never run concurrently, those
 * of different subscriptions may). `topic` and `data` are valid only during the call. `lost` is
 * the number of ring messages this subscription lost (overrun) just before this one, 0
 * normally. Do not unsubscribe a subscription from inside its own callback.
 */
typedef void (*camure_topic_callback)(const char *topic, const void *data, size_t bytes,
                                      unsigned long long lost, void *user);

/**
 * Publishes `bytes` bytes on `topic` (a path like "/sim/step"). Every subscription whose
 * topic matches (and that existed before this call), on any rank of the job, receives it
 * (on other hosts via the node leaders; in order per publisher, once).
 * @param flags 0 or CAMURE_TOPIC_TO_DESCENDANTS.
 * @return 0; CAMURE_ERR_INVALID_ARGUMENT for a bad topic; CAMURE_ERR_MESSAGE_TOO_LARGE.
 */
CAMURE_C_API int camure_publish(const char *topic, const void *data, size_t bytes,
                                unsigned flags);

/**
 * Subscribes to `topic` for polling with camure_receive().
 * @param flags 0 or CAMURE_TOPIC_WITH_DESCENDANTS.
 * @param out receives the handle.
 * @return 0 or a negative code.
 */
CAMURE_C_API int camure_subscribe(const char *topic, unsigned flags, camure_subscription **out);

/**
 * Subscribes to `topic` with a callback run on the subscription's own delivery thread.
 * @return 0 or a negative code.
 */
CAMURE_C_API int camure_subscribe_callback(const char *topic, unsigned flags,
                                           camure_topic_callback callback, void *user,
                                           camure_subscription **out);

/**
 * Receives the next message of a polling subscription, waiting up to timeout_seconds
 * (0: do not wait; negative: wait forever).
 * @param buf,capacity destination for the payload.
 * @param bytes receives the payload size (also on CAMURE_ERR_TRUNCATED).
 * @param topic_buf,topic_capacity optional (may be NULL/0): receives the message's topic,
 *        NUL-terminated, cut to fit.
 * @return 0; CAMURE_ERR_TIMEOUT / CAMURE_ERR_WOULD_BLOCK (timeout 0) if nothing arrived;
 *         CAMURE_ERR_TRUNCATED if capacity is too small (the message stays queued; call again
 *         with a buffer of *bytes); CAMURE_ERR_MESSAGES_LOST once if messages were lost
 *         before the next one (the count goes to *bytes; the next call returns the message).
 */
CAMURE_C_API int camure_receive(camure_subscription *sub, void *buf, size_t capacity,
                                size_t *bytes, char *topic_buf, size_t topic_capacity,
                                double timeout_seconds);

/**
 * Closes a subscription (polling or callback). After it returns, its callback is not running
 * and will not run again. NULL is accepted.
 * @return 0 or a negative code.
 */
CAMURE_C_API int camure_unsubscribe(camure_subscription *sub);
/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* CAMURE_CAMURE_H */
