using System.Text.Json;
using Airlock.Inspection.Messages;
using Airlock.Inspection.Policy;

namespace Airlock.Inspection.Streaming;

/// <summary>
/// Inspects one streamed Messages answer event by event, as it is relayed, never holding it
/// back. Text, thinking and tool-input deltas are appended per content block and scanned in a
/// window that carries over just enough already-seen text to find a value split across any
/// number of deltas exactly once; the work per event depends on the new text, not on how
/// long the answer already is. One instance per response; not thread-safe.
/// </summary>
/// <remarks>
/// Event shapes: Anthropic Messages streaming (<c>content_block_start</c>,
/// <c>content_block_delta</c> with <c>text_delta</c> / <c>input_json_delta</c> / <c>thinking_delta</c>,
/// <c>content_block_stop</c>, <c>message_stop</c>). Bedrock's event-stream frames carry the
/// same JSON once unwrapped.
/// </remarks>
public sealed class StreamingOutputInspector
{
    private readonly ITextScanner _scanner;
    private readonly FindingHasher _hasher;
    private readonly InspectionPolicy _policy;
    private readonly string? _team;
    private readonly StreamingInspectorOptions _options;
    private readonly Dictionary<int, StreamedBlockText> _blocks = [];
    private readonly List<TextMatch> _scratch = [];
    private readonly List<Finding> _findings = [];
    private readonly Action<string, TextMatch, long> _report;
    private StreamedBlockText? _reporting;
    private List<Finding>? _eventFindings;
    private Finding? _blocking;

    public StreamingOutputInspector(ITextScanner scanner, FindingHasher hasher, InspectionPolicy policy, string? team, StreamingInspectorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(scanner);
        ArgumentNullException.ThrowIfNull(hasher);
        ArgumentNullException.ThrowIfNull(policy);
        _scanner = scanner;
        _hasher = hasher;
        _policy = policy;
        _team = team;
        _options = options ?? new StreamingInspectorOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(_options.CarryOverChars);
        ArgumentOutOfRangeException.ThrowIfNegative(_options.CarryOverLines);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.ScanIntervalChars);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxRetainedChars, _options.CarryOverChars);
        _report = OnMatch;
    }

    /// <summary>Every finding so far, in the order found.</summary>
    public IReadOnlyList<Finding> Findings => _findings;

    /// <summary>Characters handed to the scanner so far (all windows): the cost of inspection.</summary>
    public long ScannedChars { get; private set; }

    /// <summary>True once a block finding ended the stream.</summary>
    public bool Ended => _blocking is not null;

    /// <summary>
    /// Inspects one SSE event: <paramref name="eventName"/> (the <c>event:</c> line, may be null)
    /// and the UTF-8 JSON of its <c>data:</c> line.
    /// </summary>
    public StreamEventVerdict Inspect(string? eventName, ReadOnlySpan<byte> data)
    {
        if (_blocking is not null)
        {
            return new StreamEventVerdict([], true, _blocking);
        }

        StreamEvent parsed;
        try
        {
            parsed = StreamEvent.Parse(data);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Not ours to judge: the relay forwards it and the client reports malformed events.
            return StreamEventVerdict.Continue;
        }

        string? type = parsed.Type ?? eventName;
        _eventFindings = null;
        switch (type)
        {
            case "content_block_start":
                OnBlockStart(parsed);
                break;
            case "content_block_delta":
                OnDelta(parsed);
                break;
            case "content_block_stop":
                if (_blocks.Remove(parsed.Index, out var stopped))
                {
                    Scan(stopped, final: true);
                }

                break;
            case "message_stop":
                return Complete();
        }

        return Verdict();
    }

    /// <summary>Scans what is left of every open block as final (end of stream without <c>message_stop</c>).</summary>
    public StreamEventVerdict Complete()
    {
        _eventFindings = null;
        foreach (var block in _blocks.Values)
        {
            if (_blocking is null)
            {
                Scan(block, final: true);
            }
        }

        _blocks.Clear();
        return Verdict();
    }

    private StreamEventVerdict Verdict()
    {
        if (_blocking is not null)
        {
            return new StreamEventVerdict((IReadOnlyList<Finding>?)_eventFindings ?? [], true, _blocking);
        }

        return _eventFindings is null ? StreamEventVerdict.Continue : new StreamEventVerdict(_eventFindings, false, null);
    }

    private void OnBlockStart(StreamEvent e)
    {
        var block = e.BlockType switch
        {
            "text" => new StreamedBlockText($"content[{e.Index}].text", null),
            "thinking" => new StreamedBlockText($"content[{e.Index}].thinking", null),
            "tool_use" or "server_tool_use" or "mcp_tool_use" => new StreamedBlockText($"content[{e.Index}].input", new PartialJsonTextDecoder()),
            _ => null,
        };
        if (block is null)
        {
            return;
        }

        _blocks[e.Index] = block;
        if (!string.IsNullOrEmpty(e.Text))
        {
            block.Append(e.Text);
            MaybeScan(block);
        }
    }

    private void OnDelta(StreamEvent e)
    {
        if (e.Text is null)
        {
            return;
        }

        if (!_blocks.TryGetValue(e.Index, out var block))
        {
            // A delta without its start (a relay that joined late): infer the block from the delta.
            block = e.DeltaType switch
            {
                "text_delta" => new StreamedBlockText($"content[{e.Index}].text", null),
                "thinking_delta" => new StreamedBlockText($"content[{e.Index}].thinking", null),
                "input_json_delta" => new StreamedBlockText($"content[{e.Index}].input", new PartialJsonTextDecoder()),
                _ => null,
            };
            if (block is null)
            {
                return;
            }

            _blocks[e.Index] = block;
        }

        if (block.Json is not null)
        {
            block.AppendJson(e.Text);
        }
        else
        {
            block.Append(e.Text);
        }

        MaybeScan(block);
    }

    private void MaybeScan(StreamedBlockText block)
    {
        if (block.Pending >= _options.ScanIntervalChars)
        {
            Scan(block, final: false);
        }
    }

    private void Scan(StreamedBlockText block, bool final)
    {
        _reporting = block;
        ScannedChars += block.Scan(_scanner, _scratch, final, _report, _options);
        _reporting = null;
    }

    private void OnMatch(string text, TextMatch match, long absoluteStart)
    {
        var action = _policy.ResolveOutput(match, _team);
        if (action == InspectionAction.Redact)
        {
            // Output cannot be redacted once relayed; a policy that says so is treated as alert.
            action = InspectionAction.Alert;
        }

        var finding = new Finding(
            match.RuleId,
            match.Category,
            match.Confidence,
            _reporting!.Location,
            checked((int)absoluteStart),
            match.Length,
            action,
            _hasher.Hash(text.AsSpan(match.Start, match.Length)));
        _findings.Add(finding);
        (_eventFindings ??= []).Add(finding);
        if (action == InspectionAction.Block)
        {
            _blocking ??= finding;
        }
    }

    /// <summary>The few fields of a streaming event inspection needs.</summary>
    private readonly record struct StreamEvent(string? Type, int Index, string? BlockType, string? DeltaType, string? Text)
    {
        public static StreamEvent Parse(ReadOnlySpan<byte> data)
        {
            var reader = new Utf8JsonReader(data);
            string? type = null;
            string? blockType = null;
            string? deltaType = null;
            string? text = null;
            int index = 0;
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return default;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    type = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (reader.ValueTextEquals("index"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Number)
                    {
                        reader.TryGetInt32(out index);
                    }
                }
                else if (reader.ValueTextEquals("delta"u8) || reader.ValueTextEquals("content_block"u8))
                {
                    bool isDelta = reader.ValueTextEquals("delta"u8);
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        reader.Skip();
                        continue;
                    }

                    var (innerType, innerText) = ReadInner(ref reader);
                    if (isDelta)
                    {
                        deltaType = innerType;
                    }
                    else
                    {
                        blockType = innerType;
                    }

                    text = innerText;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return new StreamEvent(type, index, blockType, deltaType, text);
        }

        private static (string? Type, string? Text) ReadInner(ref Utf8JsonReader reader)
        {
            string? type = null;
            string? text = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isType = reader.ValueTextEquals("type"u8);
                bool isText = reader.ValueTextEquals("text"u8) || reader.ValueTextEquals("partial_json"u8) || reader.ValueTextEquals("thinking"u8);
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && (isType || isText))
                {
                    if (isType)
                    {
                        type = reader.GetString();
                    }
                    else
                    {
                        text = reader.GetString();
                    }
                }
                else
                {
                    reader.Skip();
                }
            }

            return (type, text);
        }
    }
}
