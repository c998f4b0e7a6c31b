using System.Buffers;
using System.Text.Json;
using Airlock.Core.Audit;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Airlock.Gateway.Audit;

/// <summary>
/// The audit journal (<c>audit.durable: journal</c>, and what <c>audit.durable: true</c> means with the SQLite store): a
/// write-ahead log of intent that takes the store's commit off the answer's critical path without weakening what
/// "durable" promises. Once a request's upstream send has started, the pipeline hands its record as it stands (outcome
/// <c>interrupted</c>) to <see cref="Begin"/>. When the exchange ends, the final record is appended with a plain write
/// (<see cref="TryWriteFinal"/>) and queued to the store through the writer's group commit; the answer's last bytes wait
/// only for that write.
/// <para>
/// Two modes. Without fsync (the default, <c>audit.journal.fsync: false</c>) both entries are plain writes into the
/// page cache: they survive a process crash, exactly like the store's SQLite commit they replace (WAL with
/// <c>synchronous=NORMAL</c> never fsyncs a commit either), and a crash mid-stream leaves the <c>interrupted</c> record
/// the commit mode cannot have. With fsync (<c>audit.journal.fsync: true</c>) a dedicated thread writes and fdatasyncs
/// begin entries in groups while the upstream works, and the last bytes also wait for that sync: the begin record then
/// survives a power loss. Segments are then zero-filled ahead of the entries; without fsync they are not.
/// </para>
/// <para>
/// Each running gateway writes its own directory (<see cref="OpenInstance"/>: <c>audit-journal/&lt;instance&gt;/</c>)
/// and holds its <see cref="LockFileName"/> open with <see cref="FileShare.None"/> (an exclusive <c>flock</c> on Unix), so
/// two gateways on one data directory (a blue/green restart) never touch each other's entries; startup recovery takes
/// over only directories whose lock it can take, that is whose owner is dead.
/// </para>
/// <para>
/// An entry is settled once its request's final record is committed to the store or fsync'd to the spool
/// (<see cref="JournalTicket.Settle"/>). The journal is a sequence of segments of about <see cref="SegmentBytes"/>; a
/// segment that is no longer written to is deleted once every request with an entry in it is settled, so the journal
/// stays as small as the records in flight. <see cref="RecoverAsync"/> puts what a crash left behind into the store.
/// </para>
/// Entries are one line each: <c>b</c> (begin) or <c>f</c> (final) followed by the record's JSON as the spool writes it
/// (<see cref="AuditRecordLines"/>, no chain link): nothing beyond what an audit row holds. Files are created with mode
/// 0600, directories 0700.
/// </summary>
public sealed partial class AuditJournal : IDisposable
{
    /// <summary>Directory of the journals in the data directory (one subdirectory per running gateway).</summary>
    public const string DirectoryName = "audit-journal";

    /// <summary>File in a journal directory that its gateway holds open exclusively while it runs.</summary>
    public const string LockFileName = "lock";

    /// <summary>File in <see cref="DirectoryName"/> that serializes the recoveries of gateways starting at once.</summary>
    public const string RecoveryLockFileName = "recovery.lock";

    /// <summary>How long a starting gateway waits for another's recovery before starting without recovering.</summary>
    public static readonly TimeSpan DefaultRecoveryLockWait = TimeSpan.FromSeconds(60);

    /// <summary>Default size at which a segment is closed and a new one started.</summary>
    public const long DefaultSegmentBytes = 8L * 1024 * 1024;

    /// <summary>Error type of a record recovered from a begin entry alone.</summary>
    public const string GatewayStopped = "gateway_stopped";

    private const byte BeginTag = (byte)'b';
    private const byte FinalTag = (byte)'f';
    private const string SegmentPrefix = "journal-";
    private const string SegmentSuffix = ".jsonl";

    // With fsync, segments are filled with zeros ahead of the entries (and that synced) so that an entry's fdatasync
    // writes data blocks only: a write that grows a file also needs the file system's journal to commit the new size,
    // which on a virtual disk costs a second flush and several context switches per sync. Recovery skips the zeros.
    // One shared, never written buffer: the zeros of every extension.
    private const int ExtendBytes = 1024 * 1024;
    private static readonly byte[] Zeros = new byte[ExtendBytes];

    // Encoding buffers of the thread writing an entry inline (an entry is encoded and written without an await between).
    [ThreadStatic]
    private static LineEncoder? t_encoder;

    private readonly object _gate = new();
    private readonly object _queueGate = new();
    private readonly ManualResetEventSlim _signal = new(false, 0);
    private readonly bool _fsync;
    private readonly Action<SafeFileHandle> _flushToDisk;
    private readonly JournalWriteHook? _beforeWrite;
    private readonly int _extendBytes;
    private readonly ILogger _logger;
    private readonly FileStream _lock;
    private readonly Thread? _thread;
    private List<JournalTicket> _queue = new(64);
    private Segment _current;
    private long _nextSegment;
    private volatile bool _stopping;
    private volatile bool _failed;
    private long _segmentsDeleted;

    /// <summary>
    /// Opens a journal in <paramref name="directory"/> (created 0700 if missing) and takes its lock; throws
    /// <see cref="IOException"/> when another journal (in this process or another) holds it. Run
    /// <see cref="RecoverAsync"/> first: segments left by an earlier run are not read here (new ones are numbered after them).
    /// </summary>
    /// <param name="directory">Journal directory.</param>
    /// <param name="logger">For I/O failures (never content).</param>
    /// <param name="options">Mode and test hooks; default: no fsync.</param>
    public AuditJournal(string directory, ILogger logger, AuditJournalOptions? options = null)
    {
        options ??= new AuditJournalOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SegmentBytes, 1024);
        Directory = directory;
        SegmentBytes = options.SegmentBytes;
        _logger = logger;
        _fsync = options.Fsync;
        // Without fsync the begin entry is written inline on the request's thread (one pwrite under the gate, while the
        // upstream works) rather than by the journal's thread: measured with probe.sh (session 7, Messages door, three
        // alternating rounds under load), the thread's wake-up per request doubled voluntary context switches (9 against
        // 4.5 a request) and cost more CPU at 8 connections (median 0.60 against 0.48 ms a request), for no gain in p50
        // (1.22 against 1.16 ms). With fsync the thread is what lets one sync serve a group of requests.
        _flushToDisk = options.FlushToDisk ?? DataSync;
        _beforeWrite = options.BeforeWrite;
        _extendBytes = (int)Math.Min(ExtendBytes, options.SegmentBytes);
        CreateDirectory(directory);
        _lock = TryLock(System.IO.Path.Combine(directory, LockFileName), FileMode.OpenOrCreate)
            ?? throw new IOException($"audit journal {directory} is in use by another gateway");
        try
        {
            _nextSegment = SegmentFiles(directory).Select(f => f.Number).DefaultIfEmpty(0).Max() + 1;
            _current = OpenSegment();
        }
        catch
        {
            _lock.Dispose();
            throw;
        }
        if (_fsync)
        {
            _thread = new Thread(WriteLoop) { IsBackground = true, Name = "airlock-audit-journal" };
            _thread.Start();
        }
    }

    /// <summary>
    /// Opens this gateway's own journal: a new directory under <paramref name="root"/> (the data directory's
    /// <see cref="DirectoryName"/>) named after the start time, the process id and a random suffix.
    /// </summary>
    public static AuditJournal OpenInstance(string root, ILogger logger, AuditJournalOptions? options = null)
    {
        CreateDirectory(root);
        var instance = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}-{Environment.ProcessId}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}");
        return new AuditJournal(System.IO.Path.Combine(root, instance), logger, options);
    }

    /// <summary>The journal's directory.</summary>
    public string Directory { get; }

    /// <summary>Size at which a segment is closed and a new one started.</summary>
    public long SegmentBytes { get; }

    /// <summary>True when begin entries are fsync'd (<c>audit.journal.fsync: true</c>).</summary>
    public bool Fsync => _fsync;

    /// <summary>Segments deleted so far (all their requests settled).</summary>
    public long SegmentsDeleted => Interlocked.Read(ref _segmentsDeleted);

    /// <summary>Bytes the journal's segments hold on disk now.</summary>
    public long BytesOnDisk => SegmentFiles(Directory).Sum(f => LengthOrZero(f.Path));

    // A settled segment can be deleted between the listing and the stat: it then holds nothing.
    private static long LengthOrZero(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (FileNotFoundException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Records <paramref name="begin"/> (the request's record as it stands, outcome <c>interrupted</c>): written now
    /// without fsync, or queued to be written and fsync'd in the background with fsync. Returns the request's ticket, or
    /// null when the journal has failed (the caller then waits for the store, as the commit mode does).
    /// </summary>
    public JournalTicket? Begin(AuditRecord begin)
    {
        ArgumentNullException.ThrowIfNull(begin);
        if (_failed || _stopping)
        {
            return null;
        }
        var ticket = new JournalTicket(this, begin);
        if (!_fsync)
        {
            try
            {
                if (Append(Encoder.Line(begin, BeginTag)) is not { } segment)
                {
                    return null; // stopped
                }
                ticket.BeginSegment = segment;
                ticket.MarkDurable();
                return ticket;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                Fail(ex);
                return null;
            }
        }
        lock (_queueGate)
        {
            // Checked under the gate: the writer thread leaves only after it found the queue empty while stopping.
            if (_stopping)
            {
                return null;
            }
            _queue.Add(ticket);
            // Under the gate: Dispose marks stopping under it before it disposes the signal.
            _signal.Set();
        }
        return ticket;
    }

    /// <summary>
    /// Appends the request's final record with a plain write (no fsync): it survives a process crash from here on (with
    /// fsync, the next batch's fsync or the segment's closing makes it durable). False when the journal cannot be written.
    /// </summary>
    public bool TryWriteFinal(JournalTicket ticket, AuditRecord final)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        ArgumentNullException.ThrowIfNull(final);
        if (_failed)
        {
            return false;
        }
        try
        {
            if (Append(Encoder.Line(final, FinalTag)) is not { } segment)
            {
                return false; // stopped
            }
            ticket.FinalSegment = segment;
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            Fail(ex);
            return false;
        }
    }

    private static LineEncoder Encoder => t_encoder ??= new LineEncoder();

    /// <summary>
    /// Writes one entry at the current segment's end (one <c>pwrite</c> under the gate). Without fsync a full segment is
    /// closed and the next one started here (opening a file costs tens of µs once every <see cref="SegmentBytes"/>); with
    /// fsync the writer thread rotates, outside the gate. Returns the segment written, or null when the journal is stopped.
    /// </summary>
    private Segment? Append(ReadOnlySpan<byte> entry)
    {
        _beforeWrite?.Invoke(entry);
        Segment segment;
        Segment? full = null;
        lock (_gate)
        {
            segment = _current;
            if (segment.Closed)
            {
                return null;
            }
            if (!_fsync && segment.Length >= SegmentBytes)
            {
                full = segment;
                segment = _current = OpenSegment();
            }
            RandomAccess.Write(segment.Handle, entry, segment.Length);
            segment.Length += entry.Length;
            Interlocked.Increment(ref segment.Pending);
        }
        if (full is not null)
        {
            Close(full);
        }
        return segment;
    }

    /// <summary>With fsync: writes and syncs the queued begin entries in groups, rotating full segments.</summary>
    private void WriteLoop()
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        using var json = new Utf8JsonWriter(buffer);
        var batch = new List<JournalTicket>(64);
        while (true)
        {
            if (!_stopping)
            {
                _signal.Wait();
            }
            _signal.Reset();
            lock (_queueGate)
            {
                (batch, _queue) = (_queue, batch);
                if (batch.Count == 0 && _stopping)
                {
                    return;
                }
            }
            if (batch.Count == 0)
            {
                continue;
            }
            try
            {
                if (_failed)
                {
                    throw new IOException("the audit journal failed earlier");
                }
                buffer.ResetWrittenCount();
                foreach (var ticket in batch)
                {
                    AuditRecordLines.Write(buffer, json, ticket.BeginRecord, BeginTag);
                }
                if (_current.Length >= SegmentBytes)
                {
                    Rotate();
                }
                _beforeWrite?.Invoke(buffer.WrittenSpan);
                Segment segment;
                lock (_gate)
                {
                    segment = _current;
                    ObjectDisposedException.ThrowIf(segment.Closed, this);
                    RandomAccess.Write(segment.Handle, buffer.WrittenSpan, segment.Length);
                    segment.Length += buffer.WrittenCount;
                    Interlocked.Add(ref segment.Pending, batch.Count);
                    foreach (var ticket in batch)
                    {
                        ticket.BeginSegment = segment;
                    }
                }
                // Outside the gate: finals keep being written while the disk syncs (this fsync covers those written so far).
                _flushToDisk(segment.Handle);
                foreach (var ticket in batch)
                {
                    ticket.MarkDurable();
                }
                if (segment.Allocated - Volatile.Read(ref segment.Length) < _extendBytes / 4)
                {
                    // After the batch was acknowledged: the zeros' sync delays only entries arriving meanwhile.
                    Extend(segment);
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Fail(ex);
                foreach (var ticket in batch)
                {
                    ticket.MarkFailed(ex);
                }
            }
            batch.Clear();
        }
    }

    /// <summary>With fsync: writes (and syncs) the next stretch of zeros after what <paramref name="segment"/> holds.</summary>
    private void Extend(Segment segment)
    {
        lock (_gate)
        {
            if (segment.Closed)
            {
                return;
            }
            // Under the gate: finals write at Length, which may have passed Allocated; the zeros go after them.
            var start = Math.Max(segment.Allocated, segment.Length);
            RandomAccess.Write(segment.Handle, Zeros.AsSpan(0, _extendBytes), start);
            segment.Allocated = start + _extendBytes;
        }
        _flushToDisk(segment.Handle);
    }

    /// <summary>With fsync (writer thread): starts the next segment and closes the current one (fsync'd, so its final entries are durable too).</summary>
    private void Rotate()
    {
        var next = OpenSegment(); // zero-filled and synced before it takes entries
        Segment old;
        lock (_gate)
        {
            old = _current;
            _current = next;
        }
        Close(old);
    }

    /// <summary>
    /// Closes a segment nothing writes to any more (with fsync, after syncing it: outside the gate, so finals going to the
    /// next segment do not wait for the disk) and deletes it if all its requests are settled.
    /// </summary>
    private void Close(Segment segment)
    {
        lock (_gate)
        {
            if (segment.Closed)
            {
                return;
            }
            // Under the gate: an append that took this segment as current has finished its write; later ones see Closed.
            segment.Closed = true;
        }
        try
        {
            if (_fsync)
            {
                _flushToDisk(segment.Handle);
            }
        }
        finally
        {
            segment.Stream.Dispose();
        }
        Interlocked.MemoryBarrier();
        TryDelete(segment);
    }

    /// <summary>A request with an entry in <paramref name="segment"/> was settled; a closed segment with none left goes.</summary>
    internal void Release(Segment? segment)
    {
        if (segment is not null && Interlocked.Decrement(ref segment.Pending) == 0 && segment.Closed)
        {
            TryDelete(segment);
        }
    }

    private void TryDelete(Segment segment)
    {
        lock (segment)
        {
            if (segment.Deleted || !segment.Closed || Volatile.Read(ref segment.Pending) != 0 || !segment.Stream.SafeFileHandle.IsClosed)
            {
                return;
            }
            segment.Deleted = true;
        }
        try
        {
            File.Delete(segment.Path);
            Interlocked.Increment(ref _segmentsDeleted);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left for the next start's recovery, which skips what the store already holds.
            LogDeleteFailed(_logger, segment.Path, ex.GetType().Name);
        }
    }

    private Segment OpenSegment()
    {
        var path = System.IO.Path.Combine(Directory, $"{SegmentPrefix}{_nextSegment++:D10}{SegmentSuffix}");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        // The stream creates the file with the right mode and owns the handle (kept alive with the segment: a collected
        // stream would close it); writes go through the handle at explicit offsets.
        var stream = new FileStream(path, options);
        var segment = new Segment(path, stream);
        if (_fsync)
        {
            Extend(segment);
        }
        return segment;
    }

    /// <summary>fdatasync(2): the segment's data (and its size only if it changed); other platforms flush the whole file.</summary>
    private static void DataSync(SafeFileHandle handle)
    {
        if (OperatingSystem.IsLinux())
        {
            var added = false;
            handle.DangerousAddRef(ref added);
            try
            {
                if (FDataSync((int)handle.DangerousGetHandle()) != 0)
                {
                    throw new IOException($"fdatasync failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
                }
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }
        else
        {
            RandomAccess.FlushToDisk(handle);
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int FDataSync(int fd);

    private void Fail(Exception ex)
    {
        if (!_failed)
        {
            _failed = true;
            LogJournalFailed(_logger, ex.GetType().Name);
        }
    }

    /// <summary>
    /// Stops the writer thread after the queued begin entries are written, and closes the current segment (fsync'd with
    /// fsync). Segments whose requests are all settled are deleted; the rest wait for the next start's recovery. A
    /// journal left empty removes its lock file and directory.
    /// </summary>
    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }
        lock (_queueGate)
        {
            _stopping = true;
        }
        _signal.Set();
        _thread?.Join();
        try
        {
            Close(_current);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Fail(ex);
        }
        _signal.Dispose();
        try
        {
            if (!SegmentFiles(Directory).Any())
            {
                // Deleted while still locked: a recovery never finds a lock file without its directory's segments gone.
                File.Delete(System.IO.Path.Combine(Directory, LockFileName));
                _lock.Dispose();
                System.IO.Directory.Delete(Directory);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogDeleteFailed(_logger, Directory, ex.GetType().Name);
        }
        finally
        {
            _lock.Dispose();
        }
    }

    private static void CreateDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(directory);
        }
        else
        {
            System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>
    /// Opens <paramref name="path"/> with <see cref="FileShare.None"/>: on Unix .NET takes an exclusive, non-blocking
    /// <c>flock</c> on it (released by the kernel when the process dies, <c>kill -9</c> included), which refuses any other
    /// such open, from another process or this one (each open is its own file description). Null when it is held (or,
    /// with <see cref="FileMode.Open"/>, missing).
    /// </summary>
    internal static FileStream? TryLock(string path, FileMode mode)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.ReadWrite, Share = FileShare.None };
        if (mode != FileMode.Open && !OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        try
        {
            return new FileStream(path, options);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static IEnumerable<(string Path, long Number)> SegmentFiles(string directory)
    {
        if (!System.IO.Directory.Exists(directory))
        {
            yield break;
        }
        foreach (var path in System.IO.Directory.EnumerateFiles(directory, SegmentPrefix + "*" + SegmentSuffix))
        {
            var name = System.IO.Path.GetFileName(path);
            if (long.TryParse(name.AsSpan(SegmentPrefix.Length, name.Length - SegmentPrefix.Length - SegmentSuffix.Length), out var number))
            {
                yield return (path, number);
            }
        }
    }

    /// <summary>
    /// Startup recovery (before serving). Under <see cref="RecoveryLockFileName"/> (gateways starting together recover one
    /// after the other), reads the segments of <paramref name="root"/> itself (the flat layout of earlier versions) and of
    /// every journal directory below it whose lock it can take (its gateway is gone; a live gateway's directory is never
    /// touched). Per request it takes the final record if one was written, else the begin record (outcome
    /// <c>interrupted</c>, error type <c>gateway_stopped</c>), appends to the store (chained as usual) those whose request
    /// id neither the store nor <paramref name="spool"/> holds, then deletes the segments and the directories taken over.
    /// When the store refuses them they go to the spool if <paramref name="spoolOnFailure"/>; otherwise everything stays
    /// for the next start. Logs counts only. When another gateway holds the recovery lock past
    /// <paramref name="lockWait"/> (default <see cref="DefaultRecoveryLockWait"/>), this one starts without recovering
    /// (<see cref="JournalRecovery.Deferred"/>): what is left stays on disk for that gateway or the next start.
    /// </summary>
    public static async Task<JournalRecovery> RecoverAsync(string root, IAuditStore store, AuditSpool? spool, bool spoolOnFailure,
        ILogger logger, TimeSpan? lockWait = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(logger);
        if (!System.IO.Directory.Exists(root))
        {
            return JournalRecovery.None;
        }
        FileStream? recoveryLock;
        var waiting = System.Diagnostics.Stopwatch.StartNew();
        while ((recoveryLock = TryLock(System.IO.Path.Combine(root, RecoveryLockFileName), FileMode.OpenOrCreate)) is null)
        {
            // Another gateway starting on this data directory is recovering: its recovery is short (it reads files and
            // appends once); then this one finds what is left. One stuck on its store must not hold this start forever:
            // recovering others' journals is not needed to serve (this gateway journals in its own directory).
            if (waiting.Elapsed >= (lockWait ?? DefaultRecoveryLockWait))
            {
                LogRecoveryDeferred(logger, root, (int)waiting.Elapsed.TotalSeconds);
                return JournalRecovery.None with { Deferred = true };
            }
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
        var taken = new List<(string Directory, FileStream Lock)>();
        try
        {
            var live = 0;
            foreach (var directory in System.IO.Directory.EnumerateDirectories(root))
            {
                if (TryLock(System.IO.Path.Combine(directory, LockFileName), FileMode.Open) is { } held)
                {
                    taken.Add((directory, held));
                }
                else if (SegmentFiles(directory).Any())
                {
                    live++;
                    LogLiveJournalSkipped(logger, directory);
                }
            }
            var segments = SegmentFiles(root).OrderBy(f => f.Number).Select(f => f.Path)
                .Concat(taken.SelectMany(t => SegmentFiles(t.Directory).OrderBy(f => f.Number).Select(f => f.Path))).ToList();
            var result = await RecoverSegmentsAsync(root, segments, store, spool, spoolOnFailure, logger, cancellationToken).ConfigureAwait(false);
            if (!result.Kept)
            {
                foreach (var (directory, held) in taken)
                {
                    if (!SegmentFiles(directory).Any())
                    {
                        try
                        {
                            File.Delete(System.IO.Path.Combine(directory, LockFileName));
                            held.Dispose();
                            System.IO.Directory.Delete(directory);
                        }
                        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                        {
                            LogDeleteFailed(logger, directory, ex.GetType().Name);
                        }
                    }
                }
            }
            return result with { Directories = taken.Count, LiveDirectories = live };
        }
        finally
        {
            foreach (var (_, held) in taken)
            {
                held.Dispose();
            }
            recoveryLock.Dispose();
        }
    }

    private static async Task<JournalRecovery> RecoverSegmentsAsync(string root, List<string> segments, IAuditStore store, AuditSpool? spool,
        bool spoolOnFailure, ILogger logger, CancellationToken cancellationToken)
    {
        if (segments.Count == 0)
        {
            return JournalRecovery.None;
        }
        var byId = new Dictionary<string, AuditRecord>(StringComparer.Ordinal);
        var order = new List<string>();
        var unreadable = 0;
        foreach (var path in segments)
        {
            unreadable += ReadSegment(path, byId, order);
        }
        var present = new HashSet<string>(StringComparer.Ordinal);
        if (spool is not null)
        {
            try
            {
                present.UnionWith(spool.ReadAll().Select(r => r.RequestId));
            }
            catch (InvalidDataException ex)
            {
                // The spool's ids are unknown, so any record recovered now could be added a second time once the spool is
                // repaired and replayed: the segments wait for a start with a readable spool.
                LogRecoveryFailed(logger, order.Count, ex.GetType().Name, root);
                return new JournalRecovery(segments.Count, byId.Count, 0, 0, unreadable) { Kept = true };
            }
        }
        var candidates = order.Where(id => !present.Contains(id)).ToList();
        var recovered = new List<AuditRecord>();
        try
        {
            if (candidates.Count > 0)
            {
                var since = candidates.Min(id => byId[id].Time);
                present.UnionWith(await store.FindRequestIdsAsync(candidates, since, cancellationToken).ConfigureAwait(false));
                recovered.AddRange(candidates.Where(id => !present.Contains(id)).Select(id => byId[id]));
            }
            if (recovered.Count > 0)
            {
                // Records an earlier run spooled are older: they are replayed first, so the recovered ones queue behind them.
                if (spool is { IsEmpty: false })
                {
                    if (!spool.TryAppend(recovered))
                    {
                        throw new IOException("audit spool refused the recovered records");
                    }
                }
                else
                {
                    await store.AppendAsync(recovered, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException and not OperationCanceledException)
        {
            // Spooled only when the store said which records it lacks (else the spool's replay could add some twice).
            if (recovered.Count == 0 || !spoolOnFailure || spool is null || !spool.TryAppend(recovered))
            {
                LogRecoveryFailed(logger, candidates.Count, ex.GetType().Name, root);
                return new JournalRecovery(segments.Count, byId.Count, 0, 0, unreadable) { Kept = true };
            }
        }
        var interrupted = recovered.Count(r => r.Outcome == AuditOutcome.Interrupted);
        foreach (var path in segments)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // What it held is stored now: the next start finds those ids in the store and skips them.
                LogDeleteFailed(logger, path, ex.GetType().Name);
            }
        }
        var result = new JournalRecovery(segments.Count, byId.Count, recovered.Count, interrupted, unreadable);
        LogRecovered(logger, result.Segments, result.Requests, result.Recovered - result.Interrupted, result.Interrupted, result.Requests - result.Recovered, result.UnreadableLines);
        return result;
    }

    /// <summary>Reads one segment's entries into <paramref name="byId"/> (a final entry wins over a begin). Returns lines that were not entries.</summary>
    private static int ReadSegment(string path, Dictionary<string, AuditRecord> byId, List<string> order)
    {
        var unreadable = 0;
        foreach (var entry in AuditRecordLines.Split(File.ReadAllBytes(path)))
        {
            var line = entry.Text.Span;
            // A torn tail was never acknowledged (a begin is acknowledged once written, or with fsync once synced; a final
            // only when written whole). After a power loss, what followed the last fsync may be lost or zeros: such lines
            // are skipped, not fatal; zeros (the fsync mode's preallocation) are not counted.
            if (entry.Torn || line.Length < 3 || (line[0] != BeginTag && line[0] != FinalTag))
            {
                unreadable += line.IndexOfAnyExcept((byte)0) >= 0 ? 1 : 0;
                continue;
            }
            if (AuditRecordLines.Parse(line[1..], out _) is not { } record)
            {
                unreadable++;
                continue;
            }
            if (!byId.TryGetValue(record.RequestId, out var known))
            {
                order.Add(record.RequestId);
            }
            if (known is null || line[0] == FinalTag)
            {
                byId[record.RequestId] = record;
            }
        }
        return unreadable;
    }

    /// <summary>One journal file.</summary>
    internal sealed class Segment(string path, FileStream stream)
    {
        public string Path { get; } = path;

        public FileStream Stream { get; } = stream;

        public SafeFileHandle Handle { get; } = stream.SafeFileHandle;

        /// <summary>Bytes written (the next entry's offset); changed under the journal's gate.</summary>
        public long Length;

        /// <summary>With fsync: bytes filled with zeros (and synced) ahead of the entries; changed under the journal's gate.</summary>
        public long Allocated;

        /// <summary>Entries of requests not settled yet.</summary>
        public int Pending;

        /// <summary>Set under the journal's gate once nothing writes to the segment any more.</summary>
        public volatile bool Closed;

        public bool Deleted;
    }

    /// <summary>The encoding buffers of one thread (entries are encoded outside the gate, then written under it).</summary>
    private sealed class LineEncoder : IDisposable
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(4096);
        private readonly Utf8JsonWriter _json;

        public LineEncoder() => _json = new Utf8JsonWriter(_buffer);

        /// <summary>The entry's line; valid until this thread encodes the next one.</summary>
        public ReadOnlySpan<byte> Line(AuditRecord record, byte tag)
        {
            _buffer.ResetWrittenCount();
            AuditRecordLines.Write(_buffer, _json, record, tag);
            return _buffer.WrittenSpan;
        }

        // Thread-static, so normally never disposed: the writer holds managed memory only.
        public void Dispose() => _json.Dispose();
    }

    [LoggerMessage(EventId = 3010, Level = LogLevel.Error, Message = "Audit journal failed ({ErrorType}); answers now wait for the store's commit")]
    private static partial void LogJournalFailed(ILogger logger, string errorType);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Warning, Message = "Audit journal file {Path} could not be deleted ({ErrorType}); the next start's recovery handles it")]
    private static partial void LogDeleteFailed(ILogger logger, string path, string errorType);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Warning, Message = "Audit journal recovered: {Segments} segment(s), {Requests} request(s); {Final} final record(s) and {Interrupted} interrupted record(s) added to the trail, {Present} already recorded; {Unreadable} unreadable line(s) skipped")]
    private static partial void LogRecovered(ILogger logger, int segments, int requests, int final, int interrupted, int present, int unreadable);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Error, Message = "Audit journal recovery could not write {Count} record(s) to the store ({ErrorType}); the segments in {Directory} are kept for the next start")]
    private static partial void LogRecoveryFailed(ILogger logger, int count, string errorType, string directory);

    [LoggerMessage(EventId = 3014, Level = LogLevel.Information, Message = "Audit journal {Directory} belongs to a running gateway (its lock is held); not recovered")]
    private static partial void LogLiveJournalSkipped(ILogger logger, string directory);

    [LoggerMessage(EventId = 3015, Level = LogLevel.Warning, Message = "Audit journal recovery in {Root} is held by another gateway after {Seconds} s; starting without it (left-over journals stay on disk for that gateway or the next start)")]
    private static partial void LogRecoveryDeferred(ILogger logger, string root, int seconds);
}

/// <summary>How an <see cref="AuditJournal"/> writes.</summary>
public sealed record AuditJournalOptions
{
    /// <summary>
    /// <c>audit.journal.fsync</c>: fsync begin entries (in groups, on the journal's thread) and make the answer wait for
    /// that too, so that the begin record survives a power loss. Default false: plain writes (a process crash loses nothing).
    /// </summary>
    public bool Fsync { get; init; }

    /// <summary>Size at which a segment is closed and a new one started.</summary>
    public long SegmentBytes { get; init; } = AuditJournal.DefaultSegmentBytes;

    /// <summary>Tests: how a segment is synced with fsync (to hold the sync); default <c>fdatasync</c>.</summary>
    public Action<SafeFileHandle>? FlushToDisk { get; init; }

    /// <summary>Tests: called with every write's bytes before it is made (to hold a write, or to fail it with an <see cref="IOException"/>).</summary>
    public JournalWriteHook? BeforeWrite { get; init; }
}

/// <summary>Tests: sees (and may hold or fail) the bytes of a journal write before it is made.</summary>
public delegate void JournalWriteHook(ReadOnlySpan<byte> entries);

/// <summary>What <see cref="AuditJournal.RecoverAsync"/> found and did.</summary>
/// <param name="Segments">Segments read.</param>
/// <param name="Requests">Distinct requests with entries in them.</param>
/// <param name="Recovered">Records added to the trail (or spooled).</param>
/// <param name="Interrupted">Of those, records recovered from a begin entry alone (outcome <c>interrupted</c>).</param>
/// <param name="UnreadableLines">Lines that were not entries (a power loss's torn tail).</param>
public sealed record JournalRecovery(int Segments, int Requests, int Recovered, int Interrupted, int UnreadableLines)
{
    /// <summary>Nothing to recover.</summary>
    public static JournalRecovery None { get; } = new(0, 0, 0, 0, 0);

    /// <summary>Journal directories of stopped gateways taken over.</summary>
    public int Directories { get; init; }

    /// <summary>Journal directories with segments left alone because their gateway is running.</summary>
    public int LiveDirectories { get; init; }

    /// <summary>True when the records could not be put into the trail and the segments were kept for the next start.</summary>
    public bool Kept { get; init; }

    /// <summary>True when another gateway held the recovery lock too long and this start did not recover.</summary>
    public bool Deferred { get; init; }
}

/// <summary>
/// One request's place in the <see cref="AuditJournal"/>: its begin entry (written, or with fsync synced, once <see cref="Durable"/> completes),
/// its final entry, and the settlement that lets their segments go.
/// </summary>
public sealed class JournalTicket
{
    private readonly AuditJournal _journal;
    private readonly TaskCompletionSource _durable = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _settled;

    internal JournalTicket(AuditJournal journal, AuditRecord begin)
    {
        _journal = journal;
        BeginRecord = begin;
    }

    internal AuditRecord BeginRecord { get; }

    /// <summary>The request's id.</summary>
    public string RequestId => BeginRecord.RequestId;

    /// <summary>True once the request's final record is written to the journal (a crash from then on keeps it).</summary>
    public bool FinalWritten => FinalSegment is not null;

    internal AuditJournal.Segment? BeginSegment { get; set; }

    internal AuditJournal.Segment? FinalSegment { get; set; }

    /// <summary>Completes when the begin entry is written (with fsync: on disk); faults when the journal could not write it.</summary>
    public Task Durable => _durable.Task;

    internal void MarkDurable() => _durable.TrySetResult();

    internal void MarkFailed(Exception ex) => _durable.TrySetException(new IOException("the audit journal could not write the begin entry", ex));

    /// <summary>
    /// The request's final record is committed to the store (or fsync'd to the spool): its entries are no longer needed.
    /// Waits for the begin entry's write if it is still queued (its segment is known only then). Idempotent.
    /// </summary>
    public void Settle()
    {
        if (Interlocked.Exchange(ref _settled, 1) != 0)
        {
            return;
        }
        if (_durable.Task.IsCompleted)
        {
            ReleaseSegments();
        }
        else
        {
            _durable.Task.ContinueWith(static (_, state) => ((JournalTicket)state!).ReleaseSegments(), this,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private void ReleaseSegments()
    {
        _journal.Release(BeginSegment);
        _journal.Release(FinalSegment);
    }
}
