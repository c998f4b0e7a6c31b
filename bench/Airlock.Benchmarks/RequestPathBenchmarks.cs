using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Airlock.Inspection;
using Airlock.Inspection.Messages;
using Airlock.Inspection.Policy;
using Airlock.Protocols.Json;
using Airlock.Protocols.Messages;
using BenchmarkDotNet.Attributes;

namespace Airlock.Benchmarks;

/// <summary>
/// The gateway's per-request CPU on the recorded Claude Code body (bench/data/claude-code-request.json, 49 KB, two
/// thirds tools), as the gateway bench replays it: the same body again and again, so verdicts are cached and the walk
/// resumes after the memoized prefix. What remains is reading the bytes: validation, inspection, the body hash.
/// </summary>
public class RequestPathBenchmarks
{
    private byte[] _body = [];
    private MessagesRequestInspector _inspector = null!;
    private RequestBodyLayout _layout = null!;

    [GlobalSetup]
    public void Setup()
    {
        _body = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "data", "claude-code-request.json"));
        _inspector = new MessagesRequestInspector(ScannerFactory.CreateDefault(), new FindingHasher("benchmark-hash-key-0123456789"u8.ToArray()));
        if (!MessagesRequestReader.TryRead(_body, 128, out var info, out _))
        {
            throw new InvalidOperationException("the recorded body does not validate");
        }

        _layout = ToInspection(info.Layout!, 128);
        _ = _inspector.Inspect(_body, null, InspectionPolicy.Default, _layout);
    }

    [Benchmark(Description = "validate (MessagesRequestReader.TryRead)")]
    public bool Validate() => MessagesRequestReader.TryRead(_body, 128, out _, out _);

    [Benchmark(Description = "inspect, reading its own layout")]
    public int InspectAlone() => _inspector.Inspect(_body, null, InspectionPolicy.Default).Findings.Count;

    [Benchmark(Description = "validate + inspect with the validation's layout (gateway)")]
    public int ValidateAndInspect()
    {
        MessagesRequestReader.TryRead(_body, 128, out var info, out _);
        return _inspector.Inspect(_body, null, InspectionPolicy.Default, ToInspection(info.Layout!, 128)).Findings.Count;
    }

    [Benchmark(Description = "SHA-256 of the body (audit)")]
    public byte[] Sha256() => SHA256.HashData(_body);

    /// <summary>
    /// <c>reqpath</c>: thread CPU time per operation of each case (median of 15 batches after 3 s of warm-up). On the
    /// shared 2-core machine BenchmarkDotNet's wall times swing by 2x; thread CPU time does not count other processes'
    /// time slices, so two builds can be compared run after run.
    /// </summary>
    public static void Probe()
    {
        var bench = new RequestPathBenchmarks();
        bench.Setup();
        (string Name, Func<object> Run)[] cases =
        [
            ("validate", () => bench.Validate()),
            ("inspect alone", () => bench.InspectAlone()),
            ("validate + inspect", () => bench.ValidateAndInspect()),
            ("sha256", () => bench.Sha256()),
        ];
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed < TimeSpan.FromSeconds(3))
        {
            foreach (var (_, run) in cases)
            {
                run();
            }
        }

        foreach (var (name, run) in cases)
        {
            var batches = new List<double>();
            for (var b = 0; b < 15; b++)
            {
                var t0 = ThreadCpuClock.Now();
                for (var i = 0; i < 200; i++)
                {
                    run();
                }

                batches.Add((ThreadCpuClock.Now() - t0) / 200 * 1e6);
            }

            batches.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-20} {batches[batches.Count / 2],8:F1} us CPU/op (min {batches[0]:F1})"));
        }
    }

    /// <summary>The layout the gateway's validation pass hands the inspector.</summary>
    internal static RequestBodyLayout GatewayLayout(byte[] body) =>
        MessagesRequestReader.TryRead(body, 128, out var info, out var error)
            ? ToInspection(info.Layout!, 128)
            : throw new InvalidOperationException("body does not validate: " + error);

    private static RequestBodyLayout ToInspection(JsonObjectLayout layout, int depth)
    {
        var result = new RequestBodyLayout(layout.BodyLength, depth, layout.Members.Count);
        foreach (var m in layout.Members)
        {
            result.Add(new RequestBodyLayout.Member(m.Start, m.NameLength, m.NameEscaped, m.ValueStart, m.End));
        }

        return result;
    }
}
