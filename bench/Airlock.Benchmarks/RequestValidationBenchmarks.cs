using System.Globalization;
using System.Text;
using System.Text.Unicode;
using Airlock.Protocols.Json;
using Airlock.Protocols.Messages;
using BenchmarkDotNet.Attributes;

namespace Airlock.Benchmarks;

/// <summary>
/// The gateway's validation pass (<see cref="MessagesRequestReader.TryRead"/>) before and after its fast path: the
/// <see cref="System.Text.Json.Utf8JsonReader"/> pass alone (<see cref="MessagesRequestReader.TryReadWithReader"/>
/// after the same UTF-8 check) against <see cref="MessagesRequestReader.TryRead"/>, on the recorded Claude Code body
/// (49 KB) and on a 1.3 MB body (its messages repeated), with the UTF-8 check alone as the floor.
/// <c>dotnet run -c Release -- --filter *RequestValidation*</c>; <c>validate</c> prints thread CPU per call instead.
/// </summary>
public class RequestValidationBenchmarks
{
    private const int MaxDepth = 128;

    private byte[] _body = [];

    /// <summary>Which body: the recorded one or the large one.</summary>
    [Params("recorded-49KB", "large-1.3MB")]
    public string Body { get; set; } = "recorded-49KB";

    [GlobalSetup]
    public void Setup()
    {
        var recorded = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "data", "claude-code-request.json"));
        _body = Body == "recorded-49KB" ? recorded : Large(recorded, 1_300_000);
        if (!Reader() || !Fast() || !MessagesRequestReader.TryReadFast(_body, MaxDepth, out _))
        {
            throw new InvalidOperationException("the body does not validate on both paths");
        }
    }

    [Benchmark(Baseline = true, Description = "Utf8JsonReader pass (before)")]
    public bool Reader() => Utf8.IsValid(_body) && MessagesRequestReader.TryReadWithReader(_body, MaxDepth, out _, out _);

    [Benchmark(Description = "TryRead with the fast path (after)")]
    public bool Fast() => MessagesRequestReader.TryRead(_body, MaxDepth, out _, out _);

    [Benchmark(Description = "UTF-8 check alone (floor)")]
    public bool Utf8Only() => Utf8.IsValid(_body);

    /// <summary>The recorded body with its <c>messages</c> repeated until it is at least <paramref name="size"/> bytes.</summary>
    internal static byte[] Large(byte[] recorded, int size)
    {
        var layout = JsonObjectLayout.Read(recorded);
        var messages = layout.Members[layout.IndexOf(recorded, "messages")];
        var inner = recorded.AsSpan((messages.ValueStart + 1)..(messages.End - 1)).ToArray();
        var items = new List<byte>(size + recorded.Length);
        items.AddRange(inner);
        while (items.Count + recorded.Length < size)
        {
            items.Add((byte)',');
            items.AddRange(inner);
        }
        return [.. recorded.AsSpan(0, messages.ValueStart + 1), .. items, .. recorded.AsSpan((messages.End - 1)..)];
    }

    /// <summary>
    /// <c>validate</c>: thread CPU time per call of each case and body (median of 15 batches after 2 s of warm-up;
    /// thread CPU does not count other processes' time slices on the shared machine).
    /// </summary>
    public static void Probe()
    {
        foreach (var body in new[] { "recorded-49KB", "large-1.3MB" })
        {
            var bench = new RequestValidationBenchmarks { Body = body };
            bench.Setup();
            (string Name, Func<bool> Run)[] cases = [("reader (before)", bench.Reader), ("fast (after)", bench.Fast), ("utf-8 only", bench.Utf8Only)];
            var perBatch = body == "recorded-49KB" ? 200 : 8;
            var warm = System.Diagnostics.Stopwatch.StartNew();
            while (warm.Elapsed < TimeSpan.FromSeconds(2))
            {
                foreach (var (_, run) in cases)
                {
                    run();
                }
            }
            var allocated = new StringBuilder();
            foreach (var (name, run) in cases)
            {
                var batches = new List<double>();
                for (var b = 0; b < 15; b++)
                {
                    var t0 = ThreadCpuClock.Now();
                    for (var i = 0; i < perBatch; i++)
                    {
                        run();
                    }
                    batches.Add((ThreadCpuClock.Now() - t0) / perBatch * 1e6);
                }
                var before = GC.GetAllocatedBytesForCurrentThread();
                run();
                var bytes = GC.GetAllocatedBytesForCurrentThread() - before;
                batches.Sort();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{body,-14} {name,-16} {batches[batches.Count / 2],9:F1} us CPU/call (min {batches[0]:F1}), {bytes} B allocated"));
            }
        }
    }
}
