import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.Document;
import org.h2.mvstore.MVStore;
import io.netty.channel.Channel;

/**
 * Gavel's offline MongoDB engine: mongo-java-server started as a child process of the Node server or
 * test run. Run without a build step through Java's single-file source launcher:
 *
 * <pre>
 * java -cp 'engine/java/lib/*' engine/java/Launcher.java --backend memory|h2 [--file ./data/gavel.mv]
 *      [--durability fsync|commit|none] [--host 127.0.0.1] [--port 0] [--wire 21] [--oplog]
 * </pre>
 *
 * With the h2 backend, {@code --durability} says what happens before a write command is answered:
 * {@code fsync} (default) commits the MVStore and forces it to disk, so an acknowledged write survives
 * a kill of this process and a power loss; {@code commit} commits it to the file without forcing it
 * (survives a kill of this process, not a power loss); {@code none} leaves it to the MVStore's own
 * background commit about once a second (the last second of acknowledged writes is lost on a kill).
 *
 * Protocol with the parent: exactly one line {@code GAVEL_ENGINE_READY port=<port>} on stdout once the
 * socket is bound; everything else (warnings, errors) goes to stderr. The process exits cleanly on
 * SIGTERM and when its stdin reaches EOF, which happens when the parent dies, even by SIGKILL, so the
 * engine is never orphaned.
 */
public final class Launcher {

    private Launcher() {
    }

    /** The reported server version; the MongoDB Node driver 7 refuses wire versions below 9. */
    private record ReportedVersion(int wire, List<Integer> versionArray) implements MongoVersion {
        static ReportedVersion forWire(int wire) {
            return switch (wire) {
                case 9 -> new ReportedVersion(9, List.of(4, 4, 0));
                case 17 -> new ReportedVersion(17, List.of(6, 0, 0));
                case 21 -> new ReportedVersion(21, List.of(7, 0, 0));
                default -> throw new IllegalArgumentException("--wire must be 9, 17 or 21, got " + wire);
            };
        }

        @Override
        public List<Integer> getVersionArray() {
            return versionArray;
        }

        @Override
        public int getWireVersion() {
            return wire;
        }
    }

    /** What a write command waits for before it is answered (h2 backend only); see the class comment. */
    enum Durability {
        NONE, COMMIT, FSYNC
    }

    /**
     * The H2 backend with commit-before-acknowledge: after each command that may have written, the
     * MVStore is committed (and synced) before the command returns, i.e. before netty sends the
     * answer. Group commit: concurrent writers share one commit; a writer whose change a commit that
     * started after it already covered returns without committing again, so the cost is per batch of
     * concurrent commands, not per command (and a command such as an insert of 100 documents is one
     * commit).
     */
    static final class DurableH2Backend extends H2Backend {

        /** Commands that never change data; every other command (including unknown ones) is committed. */
        private static final Set<String> READ_ONLY = Set.of("find", "getmore", "count", "distinct", "ping", "hello",
            "ismaster", "buildinfo", "whatsmyuri", "serverstatus", "listcollections", "listindexes", "listdatabases",
            "killcursors", "endsessions", "getlasterror", "getlog", "dbstats", "collstats", "explain",
            "connectionstatus", "hostinfo", "getparameter", "getcmdlineopts", "features", "saslstart",
            "saslcontinue", "logout", "aborttransaction");

        private final boolean fsync;
        /** Write commands finished so far (their changes are applied to the in-memory maps). */
        private final AtomicLong applied = new AtomicLong();
        /** The `applied` count up to which changes are committed; guarded by commitLock. */
        private long durableUpTo;
        private final ReentrantLock commitLock = new ReentrantLock();

        DurableH2Backend(String fileName, boolean fsync) {
            // No background commits, neither timed nor on memory pressure: those store asynchronously,
            // and a commit() racing one would find nothing unsaved and return before its changes are
            // in the file. Every store is then one of ours, synchronous.
            super(new MVStore.Builder().fileName(fileName).autoCommitDisabled().autoCommitBufferSize(0).open());
            this.fsync = fsync;
        }

        @Override
        public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
            if (!mayWrite(command, query)) {
                return super.handleCommand(channel, databaseName, command, query);
            }
            try {
                return super.handleCommand(channel, databaseName, command, query);
            } finally {
                // Also after a failed command: an ordered insert may have stored part of its documents.
                makeDurable();
            }
        }

        private static boolean mayWrite(String command, Document query) {
            String name = command.toLowerCase(Locale.ROOT);
            if (name.equals("aggregate")) {
                // Only $out and $merge write; they are the last stage.
                Object pipeline = query.get("pipeline");
                if (pipeline instanceof List<?> stages && !stages.isEmpty()
                    && stages.get(stages.size() - 1) instanceof Document last) {
                    return last.containsKey("$out") || last.containsKey("$merge");
                }
                return false;
            }
            return !READ_ONLY.contains(name);
        }

        private void makeDurable() {
            long mine = applied.incrementAndGet();
            commitLock.lock();
            try {
                if (durableUpTo >= mine) {
                    return; // A commit that started after this command's changes has covered them.
                }
                // Every command counted up to here finished its changes before this commit starts.
                long upTo = applied.get();
                getMvStore().commit();
                if (fsync) {
                    getMvStore().sync();
                }
                durableUpTo = upTo;
            } finally {
                commitLock.unlock();
            }
        }
    }

    private static final class Options {
        String backend = "memory";
        String file;
        Durability durability = Durability.FSYNC;
        String host = "127.0.0.1";
        int port = 0;
        int wire = 21;
        boolean oplog;
    }

    public static void main(String[] args) {
        // Before any mongo-java-server class loads slf4j: warnings only, and never on stdout, which
        // carries the READY line.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");

        Options options;
        try {
            options = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("gavel engine: " + e.getMessage());
            System.exit(2);
            return;
        }

        try {
            run(options);
        } catch (Throwable e) {
            // Summary last: the parent quotes the tail of stderr.
            e.printStackTrace(System.err);
            System.err.println("gavel engine: failed to start: " + e);
            // halt, not exit: a half-started server must not wait on shutdown hooks or netty threads.
            Runtime.getRuntime().halt(1);
        }
    }

    private static Options parse(String[] args) {
        Options options = new Options();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--backend" -> options.backend = value(args, ++i, arg);
                case "--file" -> options.file = value(args, ++i, arg);
                case "--durability" -> options.durability = durability(value(args, ++i, arg));
                case "--host" -> options.host = value(args, ++i, arg);
                case "--port" -> options.port = integer(value(args, ++i, arg), arg);
                case "--wire" -> options.wire = integer(value(args, ++i, arg), arg);
                case "--oplog" -> options.oplog = true;
                default -> throw new IllegalArgumentException("unknown argument " + arg);
            }
        }
        if (!options.backend.equals("memory") && !options.backend.equals("h2")) {
            throw new IllegalArgumentException("--backend must be memory or h2, got " + options.backend);
        }
        if (options.backend.equals("h2") && options.file == null) {
            throw new IllegalArgumentException("--backend h2 needs --file <path>");
        }
        if (options.port < 0 || options.port > 65535) {
            throw new IllegalArgumentException("--port out of range: " + options.port);
        }
        ReportedVersion.forWire(options.wire); // validates
        return options;
    }

    private static String value(String[] args, int index, String name) {
        if (index >= args.length) {
            throw new IllegalArgumentException(name + " needs a value");
        }
        return args[index];
    }

    private static Durability durability(String text) {
        return switch (text) {
            case "fsync" -> Durability.FSYNC;
            case "commit" -> Durability.COMMIT;
            case "none" -> Durability.NONE;
            default -> throw new IllegalArgumentException("--durability must be fsync, commit or none, got " + text);
        };
    }

    private static int integer(String text, String name) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer, got " + text);
        }
    }

    private static void run(Options options) throws IOException {
        MongoBackend backend;
        if (options.backend.equals("h2")) {
            Path file = Path.of(options.file).toAbsolutePath();
            if (file.getParent() != null) {
                Files.createDirectories(file.getParent());
            }
            backend = options.durability == Durability.NONE
                ? new H2Backend(file.toString())
                : new DurableH2Backend(file.toString(), options.durability == Durability.FSYNC);
        } else {
            backend = new MemoryBackend();
        }
        backend.version(ReportedVersion.forWire(options.wire));

        MongoServer server = new MongoServer(backend);
        if (options.oplog) {
            server.enableOplog();
        }

        // Registered before bind so a SIGTERM during startup still closes the H2 store.
        AtomicBoolean stopped = new AtomicBoolean();
        Runnable stop = () -> {
            if (stopped.compareAndSet(false, true)) {
                // shutdown() closes the backend; for H2 that commits and closes the MVStore file.
                server.shutdown();
            }
        };
        Runtime.getRuntime().addShutdownHook(new Thread(stop, "gavel-engine-shutdown"));

        server.bind(options.host, options.port);
        InetSocketAddress address = server.getLocalAddress();

        System.out.println("GAVEL_ENGINE_READY port=" + address.getPort());
        System.out.flush();

        watchStdin();
        // netty's threads may be daemons; park main so the JVM lives until SIGTERM or stdin EOF.
        parkForever();
    }

    private static void parkForever() {
        Object never = new Object();
        synchronized (never) {
            while (true) {
                try {
                    never.wait();
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    /**
     * The parent keeps our stdin open for as long as it lives; EOF (or a read error) means it is gone.
     * System.exit runs the shutdown hook, so data is flushed the same way as on SIGTERM.
     */
    private static void watchStdin() {
        Thread watcher = new Thread(() -> {
            InputStream in = System.in;
            byte[] buffer = new byte[256];
            try {
                while (in.read(buffer) >= 0) {
                    // Input is ignored; only EOF matters.
                }
            } catch (IOException e) {
                // Treated like EOF.
            }
            System.exit(0);
        }, "gavel-engine-stdin-watch");
        watcher.setDaemon(true);
        watcher.start();
    }
}
