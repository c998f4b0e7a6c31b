using System.Buffers;

namespace Airlock.Gateway.Upstreams;

/// <summary>
/// Two translations in a row: the upstream adapter's (its protocol → Messages) and the door's (Messages → the door's
/// answer shape). The first one's output of each chunk is fed to the second; a failure of either is the failure.
/// </summary>
internal sealed class ChainedTranslator(ResponseTranslator first, ResponseTranslator second) : ResponseTranslator
{
    private readonly ArrayBufferWriter<byte> _between = new(1024);

    /// <summary>The chain of the two, or the one that is not null, or null.</summary>
    public static ResponseTranslator? Of(ResponseTranslator? first, ResponseTranslator? second) =>
        first is null ? second : second is null ? first : new ChainedTranslator(first, second);

    /// <inheritdoc/>
    public override bool ProducesSse => second.ProducesSse;

    /// <inheritdoc/>
    public override bool Translate(ReadOnlySpan<byte> chunk, IBufferWriter<byte> output)
    {
        _between.ResetWrittenCount();
        if (!first.Translate(chunk, _between))
        {
            Failure = first.Failure;
            return false;
        }
        return Second(output);
    }

    /// <inheritdoc/>
    public override bool Complete(IBufferWriter<byte> output)
    {
        _between.ResetWrittenCount();
        if (!first.Complete(_between))
        {
            Failure = first.Failure;
            return false;
        }
        if (!Second(output))
        {
            return false;
        }
        if (!second.Complete(output))
        {
            Failure = second.Failure;
            return false;
        }
        return true;
    }

    private bool Second(IBufferWriter<byte> output)
    {
        if (_between.WrittenCount > 0 && !second.Translate(_between.WrittenSpan, output))
        {
            Failure = second.Failure;
            return false;
        }
        return true;
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        first.Dispose();
        second.Dispose();
        base.Dispose();
    }
}
