package qr

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"io"
	"runtime"
)

// A screenshot is a PNG, and decoding it was most of the time a whole
// `twofold decode` took: image/png inflates, unfilters and writes an RGBA
// image (33 MB for 4K), then Decode converts that to grey. decodePNGGray
// does the common case — 8-bit, non-interlaced greyscale, RGB or RGBA —
// straight to grey, with inflating on one core and unfiltering and the
// grey conversion on another. Anything else goes through image.Decode.

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

var errPNG = errors.New("malformed PNG")

// decodePNGGray returns the image as 8-bit grey, with the luma image/color
// gives. ok is false, with no error, for a PNG it does not handle (palette,
// 16-bit, interlaced) and for data that is not a PNG.
func decodePNGGray(data []byte) (g *image.Gray, ok bool, err error) {
	if !bytes.HasPrefix(data, pngSignature) {
		return nil, false, nil
	}
	var (
		width, height int
		bpp           int // bytes per pixel
		colorType     byte
		idat          [][]byte
		size          int
	)
	rest := data[len(pngSignature):]
	for first := true; ; first = false {
		if len(rest) < 12 {
			return nil, true, fmt.Errorf("%w: truncated", errPNG)
		}
		n := binary.BigEndian.Uint32(rest)
		if n > 1<<31-1 || int(n) > len(rest)-12 {
			return nil, true, fmt.Errorf("%w: truncated", errPNG)
		}
		typ, body := string(rest[4:8]), rest[8:8+n]
		if binary.BigEndian.Uint32(rest[8+n:]) != crc32.ChecksumIEEE(rest[4:8+n]) {
			return nil, true, fmt.Errorf("%w: bad checksum in %q chunk", errPNG, typ)
		}
		rest = rest[12+n:]
		if first != (typ == "IHDR") {
			return nil, true, fmt.Errorf("%w: IHDR is not the first chunk", errPNG)
		}
		switch typ {
		case "IHDR":
			if len(body) != 13 {
				return nil, true, fmt.Errorf("%w: bad IHDR", errPNG)
			}
			w, h := binary.BigEndian.Uint32(body), binary.BigEndian.Uint32(body[4:])
			depth, interlace := body[8], body[12]
			colorType = body[9]
			if w == 0 || h == 0 || w > 1<<24 || h > 1<<24 {
				return nil, true, fmt.Errorf("%w: %d×%d pixels", errPNG, w, h)
			}
			if uint64(w)*uint64(h) > MaxPixels {
				return nil, true, fmt.Errorf("image is %d×%d pixels, too large to scan", w, h)
			}
			width, height = int(w), int(h)
			bpp = map[byte]int{0: 1, 2: 3, 4: 2, 6: 4}[colorType]
			if depth != 8 || interlace != 0 || bpp == 0 || body[10] != 0 || body[11] != 0 {
				return nil, false, nil
			}
		case "IDAT":
			idat = append(idat, body)
			size += len(body)
		case "IEND":
			if len(idat) == 0 {
				return nil, true, fmt.Errorf("%w: no image data", errPNG)
			}
			stream := make([]byte, 0, size)
			for _, b := range idat {
				stream = append(stream, b...)
			}
			g, err := unfilterGray(stream, width, height, bpp, colorType)
			return g, true, err
		}
	}
}

// rowBatch is how many rows travel between the two stages at once.
const rowBatch = 16

// unfilterGray inflates the zlib stream of the image data and undoes the
// row filters into grey. The zlib checksum is not checked: the CRC-32 of
// every chunk was.
func unfilterGray(stream []byte, width, height, bpp int, colorType byte) (*image.Gray, error) {
	if len(stream) < 2 || stream[0]&0x0f != 8 || stream[0]>>4 > 7 || stream[1]&0x20 != 0 ||
		(uint(stream[0])<<8|uint(stream[1]))%31 != 0 {
		return nil, fmt.Errorf("%w: bad zlib header", errPNG)
	}
	zr := flate.NewReader(bytes.NewReader(stream[2:]))
	defer zr.Close()
	rowLen := 1 + width*bpp
	g := image.NewGray(image.Rect(0, 0, width, height))
	prev := make([]byte, rowLen) // the row above, unfiltered; zero above the first
	// process unfilters n rows from y on and writes them as grey.
	process := func(buf []byte, y, n int) error {
		for i := range n {
			cur := buf[i*rowLen : (i+1)*rowLen]
			if err := unfilter(cur[1:], prev[1:], cur[0], bpp); err != nil {
				return err
			}
			grey(g.Pix[(y+i)*g.Stride:(y+i)*g.Stride+width], cur[1:], colorType)
			prev = append(prev[:0], cur...)
		}
		return nil
	}
	read := func(buf []byte) error {
		if _, err := io.ReadFull(zr, buf); err != nil {
			return fmt.Errorf("%w: image data: %v", errPNG, err)
		}
		return nil
	}

	if runtime.GOMAXPROCS(0) == 1 {
		buf := make([]byte, rowBatch*rowLen)
		for y := 0; y < height; y += rowBatch {
			n := min(rowBatch, height-y)
			if err := read(buf[:n*rowLen]); err != nil {
				return nil, err
			}
			if err := process(buf, y, n); err != nil {
				return nil, err
			}
		}
		return g, nil
	}

	// Two stages: this goroutine's helper inflates batches of rows; this
	// one unfilters them in order. Three buffers keep both busy.
	type batch struct {
		buf  []byte
		y, n int
	}
	free := make(chan []byte, 3)
	for range cap(free) {
		free <- make([]byte, rowBatch*rowLen)
	}
	full := make(chan batch, cap(free))
	stop := make(chan struct{})
	var readErr error // written before full is closed
	go func() {
		defer close(full)
		for y := 0; y < height; y += rowBatch {
			var buf []byte
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			n := min(rowBatch, height-y)
			if readErr = read(buf[:n*rowLen]); readErr != nil {
				return
			}
			full <- batch{buf, y, n}
		}
	}()
	var err error
	for b := range full {
		if err == nil {
			if err = process(b.buf, b.y, b.n); err != nil {
				close(stop)
			}
		}
		free <- b.buf
	}
	if err == nil {
		err = readErr
	}
	if err != nil {
		return nil, err
	}
	return g, nil
}

// unfilter undoes one row's filter (PNG specification, section 9).
func unfilter(cur, prev []byte, filter byte, bpp int) error {
	switch filter {
	case 0: // None
	case 1: // Sub
		for i := bpp; i < len(cur); i++ {
			cur[i] += cur[i-bpp]
		}
	case 2: // Up
		for i, p := range prev {
			cur[i] += p
		}
	case 3: // Average
		for i := 0; i < bpp; i++ {
			cur[i] += prev[i] / 2
		}
		for i := bpp; i < len(cur); i++ {
			cur[i] += uint8((int(cur[i-bpp]) + int(prev[i])) / 2)
		}
	case 4: // Paeth, one channel at a time as image/png does
		for ch := 0; ch < bpp; ch++ {
			a, c := 0, 0
			for j := ch; j < len(cur); j += bpp {
				b := int(prev[j])
				pa, pb := b-c, a-c
				pc := abs(pa + pb)
				pa, pb = abs(pa), abs(pb)
				if pa <= pb && pa <= pc {
					// a
				} else if pb <= pc {
					a = b
				} else {
					a = c
				}
				a = (a + int(cur[j])) & 0xff
				cur[j] = uint8(a)
				c = b
			}
		}
	default:
		return fmt.Errorf("%w: unknown row filter %d", errPNG, filter)
	}
	return nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// grey writes one unfiltered row as luma: ITU-R BT.601 in integers, as
// image/color does; alpha is ignored, as toGray ignores it.
func grey(out, row []byte, colorType byte) {
	switch colorType {
	case 0:
		copy(out, row)
	case 4:
		for x := range out {
			out[x] = row[2*x]
		}
	case 2:
		row = row[:3*len(out)]
		for x := range out {
			r, g, b := uint32(row[3*x]), uint32(row[3*x+1]), uint32(row[3*x+2])
			out[x] = uint8((19595*r + 38470*g + 7471*b + 1<<15) >> 16)
		}
	case 6:
		row = row[:4*len(out)]
		for x := range out {
			r, g, b := uint32(row[4*x]), uint32(row[4*x+1]), uint32(row[4*x+2])
			out[x] = uint8((19595*r + 38470*g + 7471*b + 1<<15) >> 16)
		}
	}
}
